package handlers

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"testing"

	"keyfob/models"
	"keyfob/models/modelstest"
)

// BenchmarkPreviewRequest measures what the live preview waits for on each keystroke: one
// GET /connect/preview/{app} through the real router (session lookup, draft read, colour parse,
// template render) on the embedded SQLite database.
func BenchmarkPreviewRequest(b *testing.B) {
	for _, step := range []string{stepBrand, stepVehicles} {
		b.Run(step, func(b *testing.B) {
			db := modelstest.Open(b)
			h := New(db, Config{BaseURL: "http://localhost:8080", SignupOpen: true, UploadsDir: b.TempDir()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			app := h.App()
			user, org, err := models.CreateAccount(db, models.SignUp{Email: "bench@example.com", Password: "benchmark password", Name: "Bench", Organization: "Bench"})
			if err != nil {
				b.Fatal(err)
			}
			name := "Bench app"
			created, _, err := models.CreateApp(db, models.Actor{ID: user.ID, Email: user.Email}, org.ID, models.AppInput{Name: &name})
			if err != nil {
				b.Fatal(err)
			}
			token, _, err := models.StartSession(db, user.ID, models.SessionKindAPI, org.ID)
			if err != nil {
				b.Fatal(err)
			}
			path := "/connect/preview/" + created.ID + "?step=" + step + "&button_color=" + url.QueryEscape("hsl(200deg 100% 40%)") + "&makes=TESLA,FORD,BMW&account_select=1"
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := app.Test(req, -1)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("preview: %v %v", err, resp.StatusCode)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
