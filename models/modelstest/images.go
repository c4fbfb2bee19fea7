package modelstest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// Hand-built image files for the logo tests of models and handlers alike.

// JPEGSegment is one JPEG marker segment: marker, big-endian length, payload.
func JPEGSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// AfterSOI inserts segments right after a JPEG's start-of-image marker.
func AfterSOI(jpg []byte, segments ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// PadJPEG inserts comment segments after SOI so the file is exactly size bytes and still valid.
func PadJPEG(t testing.TB, jpg []byte, size int) []byte {
	t.Helper()
	var segs [][]byte
	left := size - len(jpg)
	for left > 0 {
		n := min(left, 0xFFFF+2) // a segment is marker (2) + length (2) + at most 65533 bytes
		if rest := left - n; rest > 0 && rest < 4 {
			n -= 4
		}
		if n < 4 {
			t.Fatalf("cannot pad %d bytes", left)
		}
		segs = append(segs, JPEGSegment(0xFE, bytes.Repeat([]byte{'x'}, n-4)))
		left -= n
	}
	out := AfterSOI(jpg, segs...)
	if len(out) != size {
		t.Fatalf("padded to %d bytes, want %d", len(out), size)
	}
	return out
}

// PNGDeclaring is a small PNG whose IHDR declares w×h RGBA with a valid CRC, followed by a tiny IDAT.
func PNGDeclaring(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		out = append(out, typ...)
		out = append(out, data...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, deflate, adaptive filter, no interlace
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	zw.Write(make([]byte, 1000))
	zw.Close()
	out := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", idat.Bytes())...)
	return append(out, chunk("IEND", nil)...)
}
