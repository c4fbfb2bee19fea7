package models_test

import (
	"bytes"
	"testing"
	"time"

	"keyfob/models"
	"keyfob/models/modelstest"
)

func TestKVStoreSetGetDelete(t *testing.T) {
	db := modelstest.Open(t)
	s := models.KVStore{DB: db}
	cases := []struct {
		key string
		val []byte
	}{
		{"csrf_abc", []byte("token-1")},
		{"limiter_192.0.2.1", []byte{0, 1, 2, 255}},
		{"unicode ключ 🔑", []byte("значение")},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			if got, err := s.Get(tc.key); err != nil || got != nil {
				t.Fatalf("Get before Set = %q, %v; want nil, nil", got, err)
			}
			if err := s.Set(tc.key, tc.val, 0); err != nil {
				t.Fatalf("Set: %v", err)
			}
			if got, err := s.Get(tc.key); err != nil || !bytes.Equal(got, tc.val) {
				t.Errorf("Get = %q, %v; want %q", got, err, tc.val)
			}
			if n := countRows(t, db, "kv_store", "k = ? AND expires_at IS NULL", tc.key); n != 1 {
				t.Errorf("kv_store has %d rows for %q without expiry, want 1", n, tc.key)
			}
			if err := s.Delete(tc.key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if got, err := s.Get(tc.key); err != nil || got != nil {
				t.Errorf("Get after Delete = %q, %v; want nil, nil", got, err)
			}
			if n := countRows(t, db, "kv_store", "k = ?", tc.key); n != 0 {
				t.Errorf("kv_store keeps %d rows for a deleted key", n)
			}
		})
	}
	if err := s.Delete("never-set"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}

func TestKVStoreSetOverwrites(t *testing.T) {
	db := modelstest.Open(t)
	s := models.KVStore{DB: db}
	if err := s.Set("k", []byte("first"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("k", []byte("second"), 0); err != nil {
		t.Fatalf("second Set: %v", err)
	}
	time.Sleep(5 * time.Millisecond)
	// The second Set replaced the value and removed the first one's expiry.
	if got, err := s.Get("k"); err != nil || string(got) != "second" {
		t.Errorf("Get = %q, %v; want second", got, err)
	}
	if n := countRows(t, db, "kv_store", ""); n != 1 {
		t.Errorf("kv_store has %d rows, want 1", n)
	}
	if err := s.Set("k", []byte("third"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("k"); string(got) != "third" {
		t.Errorf("Get = %q, want third", got)
	}
	if n := countRows(t, db, "kv_store", "k = ? AND expires_at IS NOT NULL", "k"); n != 1 {
		t.Errorf("overwrite with a lifetime did not store its expiry")
	}
}

func TestKVStoreExpiry(t *testing.T) {
	db := modelstest.Open(t)
	s := models.KVStore{DB: db}
	if err := s.Set("short", []byte("v"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("long", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if got, err := s.Get("short"); err != nil || got != nil {
		t.Errorf("Get of an expired key = %q, %v; want nil, nil", got, err)
	}
	for _, k := range []string{"long", "forever"} {
		if got, err := s.Get(k); err != nil || string(got) != "v" {
			t.Errorf("Get(%s) = %q, %v", k, got, err)
		}
	}
	// The expired row stays until purged; purging removes only it.
	if n := countRows(t, db, "kv_store", ""); n != 3 {
		t.Errorf("kv_store has %d rows before purge, want 3", n)
	}
	if err := s.PurgeExpired(); err != nil {
		t.Fatalf("PurgeExpired: %v", err)
	}
	if n := countRows(t, db, "kv_store", "k = ?", "short"); n != 0 {
		t.Error("PurgeExpired kept the expired key")
	}
	if n := countRows(t, db, "kv_store", ""); n != 2 {
		t.Errorf("kv_store has %d rows after purge, want 2", n)
	}
	if err := s.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if n := countRows(t, db, "kv_store", ""); n != 0 {
		t.Errorf("kv_store has %d rows after Reset", n)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := models.Ping(db); err != nil {
		t.Errorf("Close closed the database: %v", err)
	}
}

func TestKVStoreIgnoresEmptyKeyOrValue(t *testing.T) {
	db := modelstest.Open(t)
	s := models.KVStore{DB: db}
	for _, tc := range []struct {
		key string
		val []byte
	}{{"", []byte("v")}, {"k", nil}, {"k", []byte{}}} {
		if err := s.Set(tc.key, tc.val, 0); err != nil {
			t.Errorf("Set(%q, %q): %v", tc.key, tc.val, err)
		}
	}
	if n := countRows(t, db, "kv_store", ""); n != 0 {
		t.Errorf("kv_store has %d rows, want 0", n)
	}
}
