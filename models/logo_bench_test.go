package models_test

import (
	"bytes"
	"sync"
	"testing"

	"keyfob/models"
)

// Realistic worst cases just under the 1 MiB limit, built once: a 2000×1500 photo at JPEG quality 92
// (≈958 KB) and a 1024×768 PNG with a transparent surround (≈954 KB), which stays PNG on output.
var (
	benchJPEG, benchPNG []byte
	benchInputs         sync.Once
)

func logoBenchInputs(b *testing.B) {
	benchInputs.Do(func() {
		benchJPEG = encodeJPEG(b, photoLike(2000, 1500, 21, 14, false), 92)
		benchPNG = encodePNG(b, photoLike(1024, 768, 22, 1, true))
	})
	for _, in := range [][]byte{benchJPEG, benchPNG} {
		if len(in) < 900_000 || len(in) > models.MaxLogoBytes {
			b.Fatalf("benchmark input is %d bytes, want 0.9–1 MiB", len(in))
		}
	}
}

func benchmarkProcessLogo(b *testing.B, in []byte, contentType string) {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := models.ProcessLogo(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		if p.ContentType != contentType {
			b.Fatalf("ContentType = %q, want %q", p.ContentType, contentType)
		}
	}
}

func BenchmarkProcessLogoJPEG1MB(b *testing.B) {
	logoBenchInputs(b)
	benchmarkProcessLogo(b, benchJPEG, "image/jpeg")
}

func BenchmarkProcessLogoPNG1MB(b *testing.B) {
	logoBenchInputs(b)
	benchmarkProcessLogo(b, benchPNG, "image/png")
}
