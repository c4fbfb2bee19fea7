package main

import (
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"keyfob/handlers"
	"keyfob/models"
)

// fakeEnv is a getenv over a map.
func fakeEnv(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadConfigDefaults(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"nothing set": nil,
		"blank values": {"KEYFOB_ADDR": "  ", "KEYFOB_BASE_URL": " ", "DATABASE_URL": "\t", "KEYFOB_DATA_DIR": " ",
			"KEYFOB_UPLOADS_DIR": " ", "KEYFOB_SIGNUP": " ", "KEYFOB_ADMIN_EMAIL": " "},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := loadConfig(fakeEnv(env))
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			want := config{Addr: ":8080", BaseURL: "http://localhost:8080", DataDir: "./data", UploadsDir: "./uploads", SignupOpen: true,
				HashMemoryMiB: models.DefaultPasswordHashMemoryMiB}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("loadConfig = %+v, want %+v", cfg, want)
			}
			if got := cfg.sqlitePath(); got != filepath.Join("data", "keyfob.db") {
				t.Errorf("sqlitePath = %q", got)
			}
		})
	}
}

func TestLoadConfigReadsEveryVariable(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want config
	}{
		{"everything set", map[string]string{
			"KEYFOB_ADDR":                    "127.0.0.1:9000",
			"KEYFOB_BASE_URL":                "https://keyfob.example.com/",
			"DATABASE_URL":                   "postgres://keyfob:pw@db:5432/keyfob?sslmode=require",
			"KEYFOB_DATA_DIR":                "/var/lib/keyfob",
			"KEYFOB_UPLOADS_DIR":             "/var/lib/keyfob/uploads",
			"KEYFOB_SIGNUP":                  "closed",
			"KEYFOB_ADMIN_EMAIL":             " admin@example.com ",
			"KEYFOB_ADMIN_PASSWORD":          "  spaces are part of it ",
			"KEYFOB_PASSWORD_HASH_MEMORY_MB": "256",
			"KEYFOB_TRUSTED_PROXIES":         "10.0.0.0/8, 192.0.2.7",
		}, config{Addr: "127.0.0.1:9000", BaseURL: "https://keyfob.example.com",
			DatabaseURL: "postgres://keyfob:pw@db:5432/keyfob?sslmode=require", DataDir: "/var/lib/keyfob",
			UploadsDir: "/var/lib/keyfob/uploads", SignupOpen: false, AdminEmail: "admin@example.com",
			AdminPassword: "  spaces are part of it ", HashMemoryMiB: 256,
			TrustedProxies: []net.IPNet{{IP: net.IPv4(10, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}, {IP: net.IPv4(192, 0, 2, 7).To4(), Mask: net.CIDRMask(32, 32)}}}},
		{"postgresql scheme and open signup", map[string]string{
			"DATABASE_URL": "postgresql://db/keyfob", "KEYFOB_SIGNUP": "open", "KEYFOB_BASE_URL": "http://127.0.0.1:8080",
		}, config{Addr: ":8080", BaseURL: "http://127.0.0.1:8080", DatabaseURL: "postgresql://db/keyfob",
			DataDir: "./data", UploadsDir: "./uploads", SignupOpen: true, HashMemoryMiB: models.DefaultPasswordHashMemoryMiB}},
		{"ipv6 listen address", map[string]string{"KEYFOB_ADDR": "[::1]:8080"},
			config{Addr: "[::1]:8080", BaseURL: "http://localhost:8080", DataDir: "./data", UploadsDir: "./uploads", SignupOpen: true,
				HashMemoryMiB: models.DefaultPasswordHashMemoryMiB}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(fakeEnv(tc.env))
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("loadConfig = %+v\nwant          %+v", cfg, tc.want)
			}
			h := cfg.handlers()
			if !reflect.DeepEqual(h, handlers.Config{BaseURL: tc.want.BaseURL, SignupOpen: tc.want.SignupOpen, UploadsDir: tc.want.UploadsDir,
				TrustedProxies: tc.want.TrustedProxies}) {
				t.Errorf("handlers config = %+v", h)
			}
		})
	}
}

// Each bad value stops start-up with an error that names the variable to fix.
func TestLoadConfigRejectsBadValues(t *testing.T) {
	cases := []struct {
		variable, value string
	}{
		{"KEYFOB_ADDR", "8080"},
		{"KEYFOB_ADDR", "localhost"},
		{"KEYFOB_ADDR", "localhost:"},
		{"KEYFOB_ADDR", ":"},
		{"KEYFOB_ADDR", ":99999"},
		{"KEYFOB_ADDR", ":-1"},
		{"KEYFOB_BASE_URL", "keyfob.example.com"},
		{"KEYFOB_BASE_URL", "localhost:8080"},
		{"KEYFOB_BASE_URL", "ftp://keyfob.example.com"},
		{"KEYFOB_BASE_URL", "https://"},
		{"KEYFOB_BASE_URL", "https://keyfob.example.com/console"},
		{"KEYFOB_BASE_URL", "https://keyfob.example.com?x=1"},
		{"KEYFOB_BASE_URL", "https://keyfob.example.com/#top"},
		{"KEYFOB_BASE_URL", "https://admin:pw@keyfob.example.com"},
		{"KEYFOB_BASE_URL", "http://[::1"},
		{"DATABASE_URL", "mysql://keyfob:s3cret@db/keyfob"},
		{"DATABASE_URL", "sqlite:///var/lib/keyfob.db"},
		{"DATABASE_URL", "/var/lib/keyfob/keyfob.db"},
		{"DATABASE_URL", "host=db user=keyfob password=s3cret"},
		{"KEYFOB_SIGNUP", "yes"},
		{"KEYFOB_SIGNUP", "invite-only"},
		{"KEYFOB_PASSWORD_HASH_MEMORY_MB", "32"},
		{"KEYFOB_PASSWORD_HASH_MEMORY_MB", "lots"},
		{"KEYFOB_TRUSTED_PROXIES", "10.0.0.0/33"},
		{"KEYFOB_TRUSTED_PROXIES", "proxy.internal"},
	}
	for _, tc := range cases {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			_, err := loadConfig(fakeEnv(map[string]string{tc.variable: tc.value}))
			if err == nil {
				t.Fatalf("loadConfig accepted %s=%q", tc.variable, tc.value)
			}
			if !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("error %q does not name %s", err, tc.variable)
			}
			// A database URL may hold a password: the error must not repeat it.
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q repeats the database password", err)
			}
		})
	}
}
