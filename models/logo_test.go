package models_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gorm.io/gorm"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// logosDDL is migration step 3 ("logos"), repeated here until schema.go carries it.
const logosDDL = `
CREATE TABLE logos (
	hash TEXT PRIMARY KEY,          -- hex SHA-256 of data
	content_type TEXT NOT NULL,     -- image/png or image/jpeg
	data {blob} NOT NULL,
	width INTEGER NOT NULL,
	height INTEGER NOT NULL,
	created_at {ts} NOT NULL
)`

// logoDB is a fresh database with the logos table.
func logoDB(t *testing.T) *gorm.DB {
	t.Helper()
	db := modelstest.Open(t)
	if db.Migrator().HasTable("logos") {
		return db // the migration already made it
	}
	blob, ts := "BLOB", "DATETIME"
	if models.IsPostgres(db) {
		blob, ts = "BYTEA", "TIMESTAMPTZ"
	}
	if err := db.Exec(strings.NewReplacer("{blob}", blob, "{ts}", ts).Replace(logosDDL)).Error; err != nil {
		t.Fatalf("create logos: %v", err)
	}
	return db
}

// Images, made here rather than read from fixtures.

// photoLike draws gradients, soft blobs and per-pixel noise of ±noise, like a photo or a rendered
// logo; with alpha, the corners fade to transparent.
func photoLike(w, h int, seed uint64, noise int, alpha bool) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type blob struct{ x, y, r2, c0, c1, c2 float64 }
	blobs := make([]blob, 10)
	for i := range blobs {
		r := float64(min(w, h)) * (0.05 + 0.2*rng.Float64())
		blobs[i] = blob{rng.Float64() * float64(w), rng.Float64() * float64(h), r * r,
			rng.Float64()*200 - 100, rng.Float64()*200 - 100, rng.Float64()*200 - 100}
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		fy := float64(y) / float64(h)
		for x := 0; x < w; x++ {
			fx := float64(x) / float64(w)
			c := [3]float64{40 + 170*fx, 60 + 150*fy, 128 + 90*math.Sin(6*fx+3*fy)}
			for _, b := range blobs {
				dx, dy := float64(x)-b.x, float64(y)-b.y
				if d := (dx*dx + dy*dy) / b.r2; d < 4 {
					k := math.Exp(-d)
					c[0] += k * b.c0
					c[1] += k * b.c1
					c[2] += k * b.c2
				}
			}
			i := img.PixOffset(x, y)
			for ch := range 3 {
				v := c[ch]
				if noise > 0 {
					v += float64(rng.IntN(2*noise+1) - noise)
				}
				img.Pix[i+ch] = uint8(max(0, min(255, v)))
			}
			img.Pix[i+3] = 255
			if alpha {
				dx, dy := 2*fx-1, 2*fy-1
				img.Pix[i+3] = uint8(255 * max(0, min(1, 2.2-2*math.Hypot(dx, dy))))
			}
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// halves is w×h, the left half red and the right half blue.
func halves(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{220, 20, 20, 255}
			if x >= w/2 {
				c = color.NRGBA{20, 20, 220, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// gpsMarker is text inside the EXIF block that must not survive re-encoding.
const gpsMarker = "GPSLatitude=52.5200N;GPSLongitude=13.4050E"

// exifAPP1 is an APP1 "Exif" segment: a big-endian TIFF header, IFD0 with Orientation and a GPS IFD
// pointer, the GPS IFD (latitude reference and latitude), then gpsMarker.
func exifAPP1(orientation uint16) []byte {
	var b bytes.Buffer
	put := func(v ...any) {
		for _, x := range v {
			binary.Write(&b, binary.BigEndian, x)
		}
	}
	entry := func(tag, typ uint16, count, value uint32) { put(tag, typ, count, value) }
	b.WriteString("MM\x00\x2a")
	put(uint32(8))
	const gpsIFD = 8 + 2 + 2*12 + 4
	put(uint16(2))
	put(uint16(0x0112), uint16(3), uint32(1), orientation, uint16(0)) // Orientation, SHORT, left-justified
	entry(0x8825, 4, 1, gpsIFD)                                       // GPSInfo IFD pointer
	put(uint32(0))
	const latitude = gpsIFD + 2 + 2*12 + 4
	put(uint16(2))
	entry(0x0001, 2, 2, 'N'<<24)  // GPSLatitudeRef "N"
	entry(0x0002, 5, 3, latitude) // GPSLatitude, 3 RATIONALs
	put(uint32(0))
	put(uint32(52), uint32(1), uint32(31), uint32(1), uint32(1234), uint32(100))
	b.WriteString(gpsMarker)
	return modelstest.JPEGSegment(0xE1, append([]byte("Exif\x00\x00"), b.Bytes()...))
}

// jpegDeclaring is a real JPEG whose SOF0 is rewritten to declare w×h.
func jpegDeclaring(t *testing.T, w, h uint16) []byte {
	t.Helper()
	jpg := encodeJPEG(t, halves(16, 16), 90)
	for i := 2; i+4 <= len(jpg); {
		marker, n := jpg[i+1], int(binary.BigEndian.Uint16(jpg[i+2:]))
		if marker == 0xC0 {
			binary.BigEndian.PutUint16(jpg[i+5:], h)
			binary.BigEndian.PutUint16(jpg[i+7:], w)
			return jpg
		}
		i += 2 + n
	}
	t.Fatal("no SOF0 in encoded JPEG")
	return nil
}

// wantProcessed checks what every ProcessLogo result must hold: the bytes decode as the stated type
// at the stated size, within the box, and Hash is their SHA-256.
func wantProcessed(t *testing.T, p models.ProcessedLogo, contentType string, w, h int) {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(p.Data))
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	wantFormat, wantExt := map[string]string{"image/png": "png", "image/jpeg": "jpeg"}[contentType], map[string]string{"image/png": "png", "image/jpeg": "jpg"}[contentType]
	if p.ContentType != contentType || p.Ext != wantExt || format != wantFormat {
		t.Errorf("ContentType, Ext = %q, %q and bytes are %s; want %q, %q", p.ContentType, p.Ext, format, contentType, wantExt)
	}
	if p.Width != w || p.Height != h || cfg.Width != w || cfg.Height != h {
		t.Errorf("size = %d×%d (bytes %d×%d), want %d×%d", p.Width, p.Height, cfg.Width, cfg.Height, w, h)
	}
	if sum := sha256.Sum256(p.Data); p.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %q, not the SHA-256 of Data", p.Hash)
	}
}

func process(t *testing.T, data []byte) models.ProcessedLogo {
	t.Helper()
	p, err := models.ProcessLogo(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ProcessLogo: %v", err)
	}
	return p
}

func TestProcessLogoReencodes(t *testing.T) {
	cases := []struct {
		name        string
		in          []byte
		contentType string
		w, h        int
	}{
		{"transparent PNG stays PNG, fitted", encodePNG(t, photoLike(1024, 600, 1, 0, true)), "image/png", 512, 300},
		{"tall transparent PNG", encodePNG(t, photoLike(300, 900, 2, 0, true)), "image/png", 170, 512},
		{"small transparent PNG is not enlarged", encodePNG(t, photoLike(64, 32, 3, 0, true)), "image/png", 64, 32},
		{"big opaque PNG becomes JPEG", encodePNG(t, photoLike(1500, 1000, 4, 0, false)), "image/jpeg", 512, 341},
		{"small opaque PNG becomes JPEG, not enlarged", encodePNG(t, halves(40, 20)), "image/jpeg", 40, 20},
		{"JPEG stays JPEG, fitted", encodeJPEG(t, photoLike(2000, 1500, 5, 3, false), 90), "image/jpeg", 512, 384},
		{"grey JPEG", encodeJPEG(t, image.NewGray(image.Rect(0, 0, 600, 600)), 90), "image/jpeg", 512, 512},
		{"1×4096 strip", encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 1, 4096))), "image/png", 1, 512},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProcessed(t, process(t, tc.in), tc.contentType, tc.w, tc.h)
		})
	}
}

func TestProcessLogoHonoursOrientationAndDropsEXIF(t *testing.T) {
	in := modelstest.AfterSOI(encodeJPEG(t, halves(200, 100), 95), exifAPP1(6))
	if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("test input is not a valid JPEG: %v", err)
	}
	p := process(t, in)
	wantProcessed(t, p, "image/jpeg", 100, 200) // orientation 6: rotate 90° clockwise
	for _, leak := range []string{"Exif", "MM\x00\x2a", "GPSLatitude", gpsMarker} {
		if bytes.Contains(p.Data, []byte(leak)) {
			t.Errorf("output still contains %q", leak)
		}
	}
	out, err := jpeg.Decode(bytes.NewReader(p.Data))
	if err != nil {
		t.Fatal(err)
	}
	// Rotated clockwise, the red left half is on top and the blue right half below.
	if r, _, b, _ := out.At(50, 40).RGBA(); r < b {
		t.Errorf("top is not red: r=%d b=%d", r>>8, b>>8)
	}
	if r, _, b, _ := out.At(50, 160).RGBA(); b < r {
		t.Errorf("bottom is not blue: r=%d b=%d", r>>8, b>>8)
	}
}

func TestProcessLogoDropsTrailingAndEmbeddedBytes(t *testing.T) {
	const script = "<script>alert(1)</script>"
	jpg := encodeJPEG(t, photoLike(300, 200, 6, 2, false), 90)
	cases := map[string][]byte{
		"JPEG+HTML polyglot":          append(append([]byte{}, jpg...), "<html><body>"+script+"</body></html>"...),
		"script in a JPEG comment":    modelstest.AfterSOI(jpg, modelstest.JPEGSegment(0xFE, []byte(script))),
		"PNG followed by HTML":        append(encodePNG(t, photoLike(100, 100, 7, 0, true)), script...),
		"PNG with text after its end": append(encodePNG(t, halves(50, 50)), "\n"+script+"\n"...),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			p := process(t, in)
			if bytes.Contains(bytes.ToLower(p.Data), []byte("<script")) || bytes.Contains(p.Data, []byte("alert(1)")) {
				t.Errorf("output still carries the script")
			}
			if bytes.HasSuffix(p.Data, []byte(">")) {
				t.Errorf("output has trailing markup")
			}
		})
	}
}

func TestProcessLogoSizeLimit(t *testing.T) {
	small := encodeJPEG(t, photoLike(64, 64, 8, 4, false), 90)

	t.Run("exactly MaxLogoBytes is accepted", func(t *testing.T) {
		p := process(t, modelstest.PadJPEG(t, small, models.MaxLogoBytes))
		wantProcessed(t, p, "image/jpeg", 64, 64)
		if len(p.Data) > 64<<10 {
			t.Errorf("output is %d bytes: the padding survived", len(p.Data))
		}
	})
	t.Run("a noisy PNG near 1 MB is accepted", func(t *testing.T) {
		in := encodePNG(t, photoLike(700, 560, 9, 12, true))
		if len(in) < 900_000 || len(in) > models.MaxLogoBytes {
			t.Fatalf("test input is %d bytes, want 0.9–1 MiB", len(in))
		}
		wantProcessed(t, process(t, in), "image/png", 512, 409)
	})
	t.Run("MaxLogoBytes+1 is too large", func(t *testing.T) {
		r := &countingReader{r: bytes.NewReader(modelstest.PadJPEG(t, small, models.MaxLogoBytes+1))}
		wantTooLarge(t, r)
	})
	t.Run("a 50 MiB stream stops after MaxLogoBytes+1", func(t *testing.T) {
		r := &countingReader{r: io.LimitReader(io.MultiReader(bytes.NewReader(small), zeros{}), 50<<20)}
		wantTooLarge(t, r)
	})
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func wantTooLarge(t *testing.T, r *countingReader) {
	t.Helper()
	_, err := models.ProcessLogo(r)
	var tl *models.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v (%T), want *models.TooLargeError", err, err)
	}
	if !strings.Contains(tl.Message, "1 MB") {
		t.Errorf("message %q does not name the limit", tl.Message)
	}
	if r.n > models.MaxLogoBytes+1 {
		t.Errorf("read %d bytes, want at most %d", r.n, models.MaxLogoBytes+1)
	}
}

func TestProcessLogoRejectsOtherTypesByContent(t *testing.T) {
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, halves(40, 40), nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, looksLike string
		data            []byte
	}{
		{"GIF", "GIF", gifBuf.Bytes()},
		{"SVG", "SVG", []byte(`<?xml version="1.0"?>` + "\n" + `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>`)},
		{"HTML", "HTML", []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")},
		{"HTML fragment", "HTML", []byte("  <script>alert(document.cookie)</script>")},
		{"plain text", "text", []byte("this is not an image\n")},
		{"WebP", "WebP", []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00")},
		{"empty", "empty", nil},
		{"binary junk", "not a PNG or JPG", []byte{0, 1, 2, 3, 0xFF, 0xFE, 0x89, 'P'}},
		{"PNG magic not at the start", "not a PNG or JPG", append([]byte("x"), encodePNG(t, halves(8, 8))[:8]...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Saved as logo.png: the name (like any Content-Type) plays no part.
			name := filepath.Join(t.TempDir(), "logo.png")
			if err := os.WriteFile(name, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = models.ProcessLogo(f)
			var u *models.UnsupportedTypeError
			if !errors.As(err, &u) {
				t.Fatalf("err = %v (%T), want *models.UnsupportedTypeError", err, err)
			}
			if !strings.Contains(u.Message, tc.looksLike) || !strings.Contains(u.Message, "PNG") {
				t.Errorf("message %q should say it looks like %s and ask for a PNG or JPG", u.Message, tc.looksLike)
			}
			if strings.Contains(u.Message, "<") || strings.Contains(u.Message, "alert") {
				t.Errorf("message %q echoes the upload", u.Message)
			}
		})
	}
}

func TestProcessLogoUnreadable(t *testing.T) {
	full := encodePNG(t, photoLike(300, 300, 10, 8, true))
	jpg := encodeJPEG(t, photoLike(300, 300, 11, 8, false), 90)
	cases := map[string][]byte{
		"first half of a PNG":     full[:len(full)/2],
		"PNG signature only":      full[:8],
		"first third of a JPEG":   jpg[:len(jpg)/3],
		"JPEG magic then garbage": append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0x42}, 100)...),
		"PNG with a corrupt CRC":  append(append(append([]byte{}, full[:29]...), full[29]^0xFF), full[30:]...),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := models.ProcessLogo(bytes.NewReader(in))
			wantValidation(t, err, "logo", "unreadable_image")
		})
	}
}

func TestProcessLogoRefusesHugeDimensionsBeforeDecoding(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"PNG 30000×30000", modelstest.PNGDeclaring(30000, 30000)},
		{"PNG 50000×50000", modelstest.PNGDeclaring(50000, 50000)},
		{"PNG 4097×1", modelstest.PNGDeclaring(models.MaxLogoSide+1, 1)},
		{"PNG 4096×4000 (16.4 megapixels)", modelstest.PNGDeclaring(4096, 4000)},
		{"JPEG 60000×60000", jpegDeclaring(t, 60000, 60000)},
		{"JPEG 5000×100", jpegDeclaring(t, 5000, 100)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := models.ProcessLogo(bytes.NewReader(tc.data))
			runtime.ReadMemStats(&after)
			v := wantValidation(t, err, "logo", "image_too_large")
			if !strings.Contains(v.Message, "4,096 pixels a side") {
				t.Errorf("message %q does not give the limit", v.Message)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew >= 50<<20 {
				t.Errorf("allocated %d MB while refusing; the image was decoded", grew>>20)
			}
		})
	}
}

func TestStoreAndFindLogo(t *testing.T) {
	db := logoDB(t)
	p := process(t, encodePNG(t, photoLike(200, 100, 12, 0, true)))
	if err := models.StoreLogo(db, p); err != nil {
		t.Fatalf("StoreLogo: %v", err)
	}
	if err := models.StoreLogo(db, p); err != nil {
		t.Fatalf("StoreLogo again: %v", err)
	}
	if n := countRows(t, db, "logos", ""); n != 1 {
		t.Errorf("logos has %d rows after storing the same logo twice, want 1", n)
	}
	l, err := models.FindLogo(db, p.Hash)
	if err != nil {
		t.Fatalf("FindLogo: %v", err)
	}
	if l.Hash != p.Hash || l.ContentType != "image/png" || !bytes.Equal(l.Data, p.Data) || l.Width != 200 || l.Height != 100 || l.CreatedAt.IsZero() {
		t.Errorf("FindLogo = %s %s %d bytes %d×%d at %v; want what was stored", l.Hash, l.ContentType, len(l.Data), l.Width, l.Height, l.CreatedAt)
	}
	if sum := sha256.Sum256(l.Data); hex.EncodeToString(sum[:]) != l.Hash {
		t.Errorf("stored hash is not the SHA-256 of the stored bytes")
	}

	forged := p
	forged.Data = []byte("<script>alert(1)</script>")
	if err := models.StoreLogo(db, forged); err == nil {
		t.Errorf("StoreLogo accepted bytes that do not match the hash")
	}
	forged = p
	forged.ContentType = "text/html"
	if err := models.StoreLogo(db, forged); err == nil {
		t.Errorf("StoreLogo accepted content type text/html")
	}
	if n := countRows(t, db, "logos", ""); n != 1 {
		t.Errorf("logos has %d rows, want 1", n)
	}
}

func TestFindLogoRejectsMalformedHashWithoutQuerying(t *testing.T) {
	db := logoDB(t)
	queries := 0
	if err := db.Callback().Query().Before("gorm:query").Register("test:count_logo_queries", func(*gorm.DB) { queries++ }); err != nil {
		t.Fatal(err)
	}
	valid := strings.Repeat("ab", 32)
	for _, hash := range []string{
		"", "abc", strings.ToUpper(valid), valid[:63], valid + "0", valid[:63] + "g", valid + ".png",
		"../../../etc/passwd", "' OR '1'='1", strings.Repeat("0", 62) + "%_",
	} {
		_, err := models.FindLogo(db, hash)
		wantErrorIs(t, err, models.ErrNotFound)
		if _, _, err := (models.LogoCache{Dir: t.TempDir(), DB: db}).Get(hash); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("LogoCache.Get(%q) = %v, want ErrNotFound", hash, err)
		}
	}
	if queries != 0 {
		t.Errorf("%d queries for malformed hashes, want none", queries)
	}
	_, err := models.FindLogo(db, valid)
	wantErrorIs(t, err, models.ErrNotFound)
	if queries != 1 {
		t.Errorf("%d queries for a well-formed unknown hash, want 1 (is the counter wired?)", queries)
	}
}

func TestLogoCache(t *testing.T) {
	db := logoDB(t)
	dir := filepath.Join(t.TempDir(), "uploads") // created on first write
	cache := models.LogoCache{Dir: dir, DB: db}
	png := process(t, encodePNG(t, photoLike(120, 80, 13, 0, true)))
	jpg := process(t, encodeJPEG(t, photoLike(120, 80, 14, 2, false), 90))
	for _, p := range []models.ProcessedLogo{png, jpg} {
		if err := models.StoreLogo(db, p); err != nil {
			t.Fatal(err)
		}
	}

	for _, p := range []models.ProcessedLogo{png, jpg} {
		t.Run(p.Ext, func(t *testing.T) {
			data, ct, err := cache.Get(p.Hash)
			if err != nil || ct != p.ContentType || !bytes.Equal(data, p.Data) {
				t.Fatalf("Get = %d bytes, %q, %v; want the stored %s", len(data), ct, err, p.ContentType)
			}
			name := filepath.Join(dir, p.Hash+"."+p.Ext)
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatalf("cache file: %v", err)
			}
			if fi.Mode().Perm() != 0o640 {
				t.Errorf("cache file mode = %v, want 0640", fi.Mode().Perm())
			}
			if err := db.Exec("DELETE FROM logos WHERE hash = ?", p.Hash).Error; err != nil {
				t.Fatal(err)
			}
			data, ct, err = cache.Get(p.Hash)
			if err != nil || ct != p.ContentType || !bytes.Equal(data, p.Data) {
				t.Errorf("Get after the row is gone = %d bytes, %q, %v; want it from disk", len(data), ct, err)
			}
		})
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{png.Hash + ".png", jpg.Hash + ".jpg"}; len(names) != 2 || !strings.Contains(strings.Join(names, " "), want[0]) || !strings.Contains(strings.Join(names, " "), want[1]) {
		t.Errorf("cache holds %v, want exactly %v (no temp files)", names, want)
	}

	t.Run("a damaged cache file is replaced from the database", func(t *testing.T) {
		p := process(t, encodePNG(t, photoLike(90, 90, 15, 0, true)))
		if err := models.StoreLogo(db, p); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, p.Hash+".png")
		if err := os.WriteFile(name, []byte("<html>not the logo</html>"), 0o640); err != nil {
			t.Fatal(err)
		}
		data, _, err := cache.Get(p.Hash)
		if err != nil || !bytes.Equal(data, p.Data) {
			t.Fatalf("Get = %q, %v; want the stored logo", data[:min(len(data), 30)], err)
		}
		if onDisk, _ := os.ReadFile(name); !bytes.Equal(onDisk, p.Data) {
			t.Errorf("the damaged cache file was not rewritten")
		}
	})

	t.Run("unknown hash", func(t *testing.T) {
		_, _, err := cache.Get(strings.Repeat("0", 64))
		wantErrorIs(t, err, models.ErrNotFound)
	})
}

func TestLogoURL(t *testing.T) {
	h := strings.Repeat("0f", 32)
	cases := []struct{ hash, contentType, want string }{
		{h, "image/png", "/logos/" + h + ".png"},
		{h, "image/jpeg", "/logos/" + h + ".jpg"},
		{h, "text/html", ""},
		{"../x", "image/png", ""},
		{strings.ToUpper(h), "image/png", ""},
	}
	for _, tc := range cases {
		if got := models.LogoURL(tc.hash, tc.contentType); got != tc.want {
			t.Errorf("LogoURL(%q, %q) = %q, want %q", tc.hash, tc.contentType, got, tc.want)
		}
	}
}
