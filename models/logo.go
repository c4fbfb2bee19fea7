package models

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/disintegration/imaging"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Logo limits. Uploads are checked against them before any pixel is decoded.
const (
	MaxLogoBytes  = 1 << 20 // 1 MiB
	MaxLogoSide   = 4096
	MaxLogoPixels = 16_000_000
	LogoBox       = 512
)

const (
	logoPNG  = "image/png"
	logoJPEG = "image/jpeg"
)

// logoFilter resamples big uploads down to LogoBox. Linear (a tent scaled to the reduction) averages
// every source pixel, so it does not alias, and is about twice as fast as Lanczos on a 2000×1500 photo;
// at 512 pixels the difference in sharpness is not visible.
var logoFilter = imaging.Linear

var (
	magicPNG  = []byte("\x89PNG\r\n\x1a\n")
	magicJPEG = []byte{0xFF, 0xD8, 0xFF}
)

// logoSlots lets two uploads decode at once: a 4,096×4,096 image needs ~64 MiB while it is processed.
var logoSlots = make(chan struct{}, 2)

// ProcessNamedLogo is ProcessLogo for an uploaded file. Content alone makes a file acceptable; the
// name can only refuse it: a ".png" holding JPEG bytes (or the reverse) is a disguised file, so 415.
func ProcessNamedLogo(r io.Reader, filename string) (ProcessedLogo, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(magicPNG))
	ext := strings.ToLower(filepath.Ext(filename))
	isPNG, isJPEG := bytes.HasPrefix(head, magicPNG), bytes.HasPrefix(head, magicJPEG)
	if (ext == ".png" && isJPEG) || ((ext == ".jpg" || ext == ".jpeg" || ext == ".jpe") && isPNG) {
		return ProcessedLogo{}, &UnsupportedTypeError{"This file is named " + ext + " but holds a different image type. Export it again as a PNG or JPG and upload that."}
	}
	return ProcessLogo(br)
}

// ProcessedLogo is a logo after validation and re-encoding: only these bytes are ever stored or served.
type ProcessedLogo struct {
	Data          []byte
	ContentType   string
	Ext           string // "png" or "jpg"
	Width, Height int
	Hash          string // hex SHA-256 of Data
}

// ProcessLogo reads at most MaxLogoBytes+1 bytes from r, accepts PNG or JPEG judged by content alone,
// checks the declared dimensions before decoding, honours EXIF orientation, fits the image within
// LogoBox×LogoBox (never enlarging it) and re-encodes it: PNG when any pixel is not fully opaque, else
// JPEG quality 90. Nothing of the upload but its pixels survives: no metadata, no trailing bytes.
//
// Errors: *TooLargeError over MaxLogoBytes, *UnsupportedTypeError for anything but PNG or JPEG bytes,
// *ValidationError "image_too_large" for absurd dimensions and "unreadable_image" for damaged files.
func ProcessLogo(r io.Reader) (ProcessedLogo, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxLogoBytes+1))
	if err != nil {
		return ProcessedLogo{}, fmt.Errorf("read logo: %w", err)
	}
	if len(data) > MaxLogoBytes {
		return ProcessedLogo{}, &TooLargeError{"The logo is larger than 1 MB. Export it smaller (512×512 pixels is plenty) and upload again."}
	}
	var decodeConfig func(io.Reader) (image.Config, error)
	switch {
	case bytes.HasPrefix(data, magicPNG):
		decodeConfig = png.DecodeConfig
	case bytes.HasPrefix(data, magicJPEG):
		decodeConfig = jpeg.DecodeConfig
	default:
		return ProcessedLogo{}, &UnsupportedTypeError{unsupportedLogoMessage(data)}
	}

	// The header alone says how big the pixel buffer would be; refuse before allocating it.
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return ProcessedLogo{}, unreadableLogo()
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 || w > MaxLogoSide || h > MaxLogoSide || w*h > MaxLogoPixels {
		return ProcessedLogo{}, Invalid("logo", "image_too_large",
			"The logo can be at most 4,096 pixels a side and 16 megapixels in all. Export it smaller (512×512 pixels is plenty) and upload again.")
	}

	// Only JPEG carries an orientation imaging understands; skipping it for PNG saves a pipe and a goroutine.
	var opts []imaging.DecodeOption
	if bytes.HasPrefix(data, magicJPEG) {
		opts = append(opts, imaging.AutoOrientation(true))
	}
	logoSlots <- struct{}{} // bound the memory of concurrent decodes
	defer func() { <-logoSlots }()
	img, err := imaging.Decode(bytes.NewReader(data), opts...)
	if err != nil {
		return ProcessedLogo{}, unreadableLogo()
	}
	fitted := imaging.Fit(img, LogoBox, LogoBox, logoFilter) // a copy even when small: never enlarged
	b := fitted.Bounds()
	if b.Empty() {
		return ProcessedLogo{}, unreadableLogo()
	}

	var buf bytes.Buffer
	p := ProcessedLogo{Width: b.Dx(), Height: b.Dy()}
	if opaque(fitted) {
		// Fully opaque NRGBA and RGBA hold the same bytes; RGBA takes the JPEG encoder's fast path.
		rgba := &image.RGBA{Pix: fitted.Pix, Stride: fitted.Stride, Rect: fitted.Rect}
		err = jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: 90})
		p.ContentType, p.Ext = logoJPEG, "jpg"
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, fitted)
		p.ContentType, p.Ext = logoPNG, "png"
	}
	if err != nil {
		return ProcessedLogo{}, fmt.Errorf("encode logo: %w", err)
	}
	p.Data = buf.Bytes()
	p.Hash = logoHash(p.Data)
	return p, nil
}

func unreadableLogo() error {
	return Invalid("logo", "unreadable_image",
		"We could not read this image: it may be damaged or incomplete. Export it again as PNG or JPG and upload it.")
}

// opaque reports whether every pixel of img has alpha 255.
func opaque(img *image.NRGBA) bool {
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+b.Dx()*4]
		for i := 3; i < len(row); i += 4 {
			if row[i] != 0xFF {
				return false
			}
		}
	}
	return true
}

// unsupportedLogoMessage names what data looks like, when that is easy to tell, without echoing it.
func unsupportedLogoMessage(data []byte) string {
	const upload = "; upload a PNG or JPG."
	head := data[:min(len(data), 1024)]
	lower := bytes.ToLower(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")), " \t\r\n"))
	switch {
	case len(data) == 0:
		return "The file is empty" + upload
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "This looks like a GIF" + upload
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "This looks like a WebP image" + upload
	case len(data) >= 12 && string(data[4:8]) == "ftyp" && (string(data[8:11]) == "hei" || string(data[8:11]) == "hev" || string(data[8:12]) == "avif" || string(data[8:12]) == "mif1"):
		return "This looks like a HEIC or AVIF image" + upload
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "This looks like a TIFF image" + upload
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "This looks like a PDF" + upload
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")):
		return "This looks like a web page (HTML)" + upload
	case bytes.Contains(lower, []byte("<svg")):
		return "This looks like an SVG; export it as a PNG and upload that."
	case bytes.Contains(lower, []byte("<script")), bytes.Contains(lower, []byte("<body")), bytes.Contains(lower, []byte("<head")):
		return "This looks like a web page (HTML)" + upload
	case utf8.Valid(head) && !bytes.ContainsAny(head, "\x00"):
		return "This looks like a text file" + upload
	}
	return "This file is not a PNG or JPG image" + upload
}

func logoHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// validLogoHash accepts exactly 64 lower-case hex characters: the only names logos have, so a
// malformed name never reaches the database or the file system.
func validLogoHash(hash string) bool {
	if len(hash) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(hash); i++ {
		if c := hash[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func logoExt(contentType string) string {
	switch contentType {
	case logoPNG:
		return "png"
	case logoJPEG:
		return "jpg"
	}
	return ""
}

// Logo is a stored logo row.
type Logo struct {
	Hash          string `gorm:"primaryKey"`
	ContentType   string
	Data          []byte
	Width, Height int
	CreatedAt     time.Time
}

// TableName pins the table to the migration's.
func (Logo) TableName() string { return "logos" }

// StoreLogo saves p content-addressed; storing the same bytes twice is harmless. It refuses a
// ProcessedLogo whose hash or type does not match its bytes, so only ProcessLogo's output is stored.
func StoreLogo(db *gorm.DB, p ProcessedLogo) error {
	if logoExt(p.ContentType) == "" || len(p.Data) == 0 || p.Hash != logoHash(p.Data) {
		return errors.New("models: StoreLogo needs the output of ProcessLogo")
	}
	row := Logo{Hash: p.Hash, ContentType: p.ContentType, Data: p.Data, Width: p.Width, Height: p.Height}
	return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "hash"}}, DoNothing: true}).Create(&row).Error
}

// FindLogo reads a logo by hash; ErrNotFound when it is missing or the hash is malformed.
func FindLogo(db *gorm.DB, hash string) (Logo, error) {
	if !validLogoHash(hash) {
		return Logo{}, ErrNotFound
	}
	var l Logo
	err := db.Where("hash = ?", hash).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Logo{}, ErrNotFound
	}
	return l, err
}

// LogoURL is the public path of a stored logo, "/logos/<hash>.<ext>"; empty for a malformed hash or
// a content type that is not PNG or JPEG.
func LogoURL(hash, contentType string) string {
	ext := logoExt(contentType)
	if ext == "" || !validLogoHash(hash) {
		return ""
	}
	return "/logos/" + hash + "." + ext
}

// LogoCache is the local disk cache of logos under Dir (KEYFOB_UPLOADS_DIR): files named
// <hash>.<ext>, written atomically (temp file + rename), mode 0640. The database holds the originals,
// so the cache may be emptied at any time.
type LogoCache struct {
	Dir string
	DB  *gorm.DB
}

// Get returns the logo bytes and content type, from disk if cached, else from the database (then
// writing the cache). Unknown or malformed hash → ErrNotFound. A cached file is served only when its
// bytes still hash to its name, so a torn or altered file falls back to the database and is rewritten.
func (c LogoCache) Get(hash string) (data []byte, contentType string, err error) {
	if !validLogoHash(hash) {
		return nil, "", ErrNotFound
	}
	if c.Dir != "" {
		for _, ct := range []string{logoPNG, logoJPEG} {
			data, err := os.ReadFile(filepath.Join(c.Dir, hash+"."+logoExt(ct)))
			if err == nil && logoHash(data) == hash {
				return data, ct, nil
			}
		}
	}
	if c.DB == nil {
		return nil, "", ErrNotFound
	}
	l, err := FindLogo(c.DB, hash)
	if err != nil {
		return nil, "", err
	}
	ext := logoExt(l.ContentType)
	if ext == "" {
		return nil, "", fmt.Errorf("logo %s has content type %q", hash, l.ContentType)
	}
	if c.Dir != "" {
		// A cache that cannot be written (full disk, read-only mount) only costs the next request a query.
		_ = writeFileAtomic(filepath.Join(c.Dir, hash+"."+ext), l.Data, 0o640)
	}
	return l.Data, l.ContentType, nil
}

// writeFileAtomic writes data to a temporary file beside name and renames it into place, so readers
// see either no file or the whole file.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
