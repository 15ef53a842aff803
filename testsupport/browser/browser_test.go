package browser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// strictCSP is the test server's policy, as strict as the console's: no
// inline script or style, nothing from another origin.
const strictCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'"

const styleSheet = `body { font: 16px sans-serif; color: #111; background: #fff; margin: 2rem; }
.skip { position: absolute; left: -10000px; }
.skip:focus { left: 1rem; top: 1rem; }
.tall { height: 2400px; }
`

// fixedPage has nothing axe objects to, and a focus order the keyboard
// test walks: skip link, two navigation links, a search field, a
// checkbox, a button, a file link.
const fixedPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cycles</title><link rel="stylesheet" href="/style.css"></head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><nav aria-label="Main"><a href="/next">Cycles</a> <a href="/returns">Returns</a></nav></header>
<main id="main">
<h1>Cycles</h1>
<form action="/next" method="get">
<label for="q">Seller</label> <input id="q" name="q" type="search">
<label><input type="checkbox" id="held" name="held"> Held only</label>
<button type="submit">Search</button>
</form>
<img src="/pixel.png" alt="A one-pixel chart">
<p><a id="ach" href="/files/ach-2026-11.txt">ACH file for November 2026</a></p>
</main>
</body></html>`

// badPage has one accessibility violation: an image without alt text.
const badPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Files</title><link rel="stylesheet" href="/style.css"></head>
<body><main>
<h1>Files</h1>
<img src="/pixel.png">
<p><a id="ach" href="/files/ach-2026-11.txt">ACH file for November 2026</a></p>
</main></body></html>`

// inlinePage tries an inline script and an inline style, which the CSP
// refuses.
const inlinePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inline</title></head>
<body><main><h1>Inline</h1>
<p style="color: red">styled</p>
<script>document.title = 'the inline script ran';</script>
</main></body></html>`

const tallPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tall</title><link rel="stylesheet" href="/style.css"></head>
<body><main><h1>Tall</h1><div class="tall"></div><p>end</p></main></body></html>`

// onePixelPNG is a 1×1 white PNG.
var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\r\xefF\xb8\x00\x00\x00\x00IEND\xaeB`\x82")

// achFile is the download: 1,000 lines of 94 characters, as a NACHA file.
func achFile() []byte {
	var b bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&b, "%-94.94s", fmt.Sprintf("622121000248%-17d%010d%-15s%-22s  0%015d", i, i*137, fmt.Sprintf("P202611%08d", i), "PUBLISHER", i))
		b.WriteString("\n")
	}
	return b.Bytes()
}

// sessionCookie stands for the console's: HttpOnly, so only the browser
// (never the page's scripts) can send it.
const sessionCookie = "payrun_test_session"

func testServer(t *testing.T) *httptest.Server {
	ach := achFile()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /{$}", page(fixedPage))
	mux.HandleFunc("GET /bad", page(badPage))
	mux.HandleFunc("GET /inline", page(inlinePage))
	mux.HandleFunc("GET /tall", page(tallPage))
	mux.HandleFunc("GET /next", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Next</title></head><body><main><h1>Next</h1><p id="q">%s</p></main></body></html>`, r.URL.Query().Get("q"))
	})
	mux.HandleFunc("GET /signin", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "operator-1", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		page(`<!doctype html><html lang="en"><head><title>Signed in</title></head><body><main><h1>Signed in</h1></main></body></html>`)(w, r)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		who := "nobody"
		if c, err := r.Cookie(sessionCookie); err == nil {
			who = c.Value
		}
		page(`<!doctype html><html lang="en"><head><title>`+who+`</title></head><body><main><h1>`+who+`</h1></main></body></html>`)(w, r)
	})
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, styleSheet)
	})
	mux.HandleFunc("GET /pixel.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(onePixelPNG)
	})
	// The file needs the session, as the console's downloads do.
	mux.HandleFunc("GET /files/ach-2026-11.txt", func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(sessionCookie); err != nil {
			http.Error(w, "sign in first", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Disposition", `attachment; filename="ach-2026-11.txt"`)
		w.Write(ach)
	})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		w.Header().Set("X-Frame-Options", "DENY")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	return server
}

// recorder is a testing.TB that keeps the failures of the helper under
// test instead of failing the test; Fatal stops the helper with a panic
// that stopped() recovers.
type recorder struct {
	testing.TB
	errors []string
	fatal  string
}

type fatalStop struct{}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(fatalStop{})
}
func (r *recorder) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	panic(fatalStop{})
}

// stopped runs f and reports whether it stopped at a Fatal.
func stopped(f func()) (fatal bool) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatalStop); !ok {
				panic(v)
			}
			fatal = true
		}
	}()
	f()
	return false
}

func TestBrowser(t *testing.T) {
	server := testServer(t)
	b := Start(t)

	t.Run("axe finds the image without alt text, under the strict CSP", func(t *testing.T) {
		t.Parallel()
		ctx := b.NewTab(t)
		resp, err := Navigate(ctx, server.URL+"/bad")
		require.NoError(t, err)
		require.Equal(t, strictCSP, resp.Headers["Content-Security-Policy"], "the page was served with the strict policy")

		violations, err := Axe(ctx)
		require.NoError(t, err)
		require.Len(t, violations, 1, FormatViolations(violations))
		v := violations[0]
		require.Equal(t, "image-alt", v.ID)
		require.Equal(t, "critical", v.Impact)
		require.True(t, v.Serious())
		require.Len(t, v.Nodes, 1)
		require.Equal(t, []string{"img"}, v.Nodes[0].Target)
		require.Equal(t, `<img src="/pixel.png">`, v.Nodes[0].HTML)

		text := FormatViolations(violations)
		require.Contains(t, text, "image-alt (critical): Images must have alternative text")
		require.Contains(t, text, `<img src="/pixel.png">`)

		rec := &recorder{TB: t}
		RequireAccessible(rec, ctx)
		require.Len(t, rec.errors, 1, "RequireAccessible fails the test on a critical violation")
		require.Contains(t, rec.errors[0], "1 serious or critical violation(s) on "+server.URL+"/bad")
		require.Contains(t, rec.errors[0], "image-alt (critical)")

		// A second run on the same page reuses the injected script.
		again, err := Axe(ctx)
		require.NoError(t, err)
		require.Equal(t, violations, again)

		// The tab's next page has axe-core from its start, under the same CSP.
		_, err = Navigate(ctx, server.URL+"/")
		require.NoError(t, err)
		preloaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
		require.NoError(t, err)
		require.True(t, preloaded)
		violations, err = Axe(ctx)
		require.NoError(t, err)
		require.Empty(t, violations, FormatViolations(violations))
		RequireNoCSPViolations(t, ctx)
	})

	t.Run("axe finds nothing on the fixed page", func(t *testing.T) {
		t.Parallel()
		ctx := b.NewTab(t)
		_, err := Navigate(ctx, server.URL+"/")
		require.NoError(t, err)
		violations, err := Axe(ctx)
		require.NoError(t, err)
		require.Empty(t, violations, FormatViolations(violations))
		rec := &recorder{TB: t}
		RequireAccessible(rec, ctx)
		require.Empty(t, rec.errors)
		RequireNoCSPViolations(t, ctx)
	})

	t.Run("the CSP refusals of a page are reported", func(t *testing.T) {
		t.Parallel()
		ctx := b.NewTab(t)
		_, err := Navigate(ctx, server.URL+"/inline")
		require.NoError(t, err)
		title, err := chromedp.Run(ctx, chromedp.Title())
		require.NoError(t, err)
		require.Equal(t, "Inline", title, "the policy is enforced: the inline script did not run")

		violations, err := CSPViolations(ctx)
		require.NoError(t, err)
		var directives []string
		for _, v := range violations {
			directives = append(directives, v.Directive)
		}
		require.ElementsMatch(t, []string{"style-src-attr", "script-src-elem"}, directives)

		rec := &recorder{TB: t}
		RequireNoCSPViolations(rec, ctx)
		require.Len(t, rec.errors, 1)
		require.Contains(t, rec.errors[0], "refused 2 thing(s)")
		require.Contains(t, rec.errors[0], `script-src-elem refused "inline"`)
	})

	t.Run("keyboard: Tab follows the focus order, typing, Space and Enter", func(t *testing.T) {
		t.Parallel()
		ctx := b.NewTab(t)
		_, err := Navigate(ctx, server.URL+"/")
		require.NoError(t, err)

		start, err := Focused(ctx)
		require.NoError(t, err)
		require.Equal(t, "body", start.Tag, "nothing is focused on a new page")

		order, err := PressTab(ctx, 4)
		require.NoError(t, err)
		require.Len(t, order, 4)
		require.Equal(t, Focus{Tag: "a", Text: "Skip to content", Href: "#main", Visible: true}, order[0],
			"the skip link comes first and shows itself when focused")
		require.Equal(t, "Cycles", order[1].Text)
		require.Equal(t, "/next", order[1].Href)
		require.Equal(t, "Returns", order[2].Text)
		require.Equal(t, Focus{Tag: "input", ID: "q", Name: "q", Label: "Seller", Type: "search", Visible: true}, order[3])
		require.Equal(t, `a "Cycles" href=/next`, order[1].String())

		require.NoError(t, TypeText(ctx, "S-0042"))
		field, err := Focused(ctx)
		require.NoError(t, err)
		require.Equal(t, "S-0042", field.Text, "the text went into the focused field")

		order, err = PressTab(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "held", order[0].ID)
		require.Equal(t, "Held only", order[0].Label)
		require.False(t, order[0].Checked)
		require.NoError(t, PressSpace(ctx))
		box, err := Focused(ctx)
		require.NoError(t, err)
		require.True(t, box.Checked, "Space ticked the focused checkbox")
		checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('held').checked`))
		require.NoError(t, err)
		require.True(t, checked)

		order, err = PressShiftTab(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "q", order[0].ID, "Shift+Tab went back to the field")

		order, err = TabUntil(ctx, "#ach")
		require.NoError(t, err)
		var passed []string
		for _, f := range order {
			passed = append(passed, f.Tag+" "+f.Text+f.Label)
		}
		require.Equal(t, []string{"input Held only", "button Search", "a ACH file for November 2026"}, passed)

		_, err = TabUntil(ctx, "#nowhere")
		require.ErrorContains(t, err, `no element matching "#nowhere" in the focus order`)
		require.ErrorContains(t, err, "Skip to content", "the error lists what Tab went through")

		// Enter in the field submits the form and opens the next page.
		_, err = Navigate(ctx, server.URL+"/")
		require.NoError(t, err)
		_, err = TabUntil(ctx, "#q")
		require.NoError(t, err)
		require.NoError(t, TypeText(ctx, "S-0042"))
		resp, err := PressEnterAndWait(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(http.StatusOK), resp.Status)
		require.Equal(t, server.URL+"/next?q=S-0042", resp.URL)
		shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("q")))
		require.NoError(t, err)
		require.Equal(t, "S-0042", shown)
	})

	t.Run("download: a link's file, by click and by keyboard, with the session cookie", func(t *testing.T) {
		t.Parallel()
		ctx := b.NewTab(t)
		want := achFile()
		wantSum := sha256.Sum256(want)

		_, err := Navigate(ctx, server.URL+"/signin")
		require.NoError(t, err)
		_, err = Navigate(ctx, server.URL+"/bad")
		require.NoError(t, err)
		file, err := DownloadLink(ctx, "#ach")
		require.NoError(t, err)
		require.Equal(t, "ach-2026-11.txt", file.Name)
		require.Equal(t, server.URL+"/files/ach-2026-11.txt", file.URL)
		require.Equal(t, want, file.Bytes)
		require.Equal(t, hex.EncodeToString(wantSum[:]), file.SHA256())

		_, err = Navigate(ctx, server.URL+"/")
		require.NoError(t, err)
		_, err = TabUntil(ctx, "#ach")
		require.NoError(t, err)
		file, err = Download(ctx, chromedp.KeyEvent("\r"))
		require.NoError(t, err)
		require.Equal(t, hex.EncodeToString(wantSum[:]), file.SHA256(), "Enter on the focused link downloads the same file")
		location, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		require.Equal(t, server.URL+"/", location, "a download leaves the page where it was")
	})

	t.Run("tabs have their own cookies", func(t *testing.T) {
		t.Parallel()
		signedIn, other := b.NewTab(t), b.NewTab(t)
		_, err := Navigate(signedIn, server.URL+"/signin")
		require.NoError(t, err)
		for _, tab := range []struct {
			ctx  context.Context
			want string
		}{{signedIn, "operator-1"}, {other, "nobody"}} {
			_, err := Navigate(tab.ctx, server.URL+"/whoami")
			require.NoError(t, err)
			title, err := chromedp.Run(tab.ctx, chromedp.Title())
			require.NoError(t, err)
			require.Equal(t, tab.want, title)
		}
	})

	t.Run("screenshots: the 1366x768 viewport, and the full page", func(t *testing.T) {
		t.Parallel()
		ctx := b.NewTab(t)
		_, err := Navigate(ctx, server.URL+"/tall")
		require.NoError(t, err)
		dir := t.TempDir()

		path := filepath.Join(dir, "docs", "viewport.png")
		require.NoError(t, Screenshot(ctx, path))
		width, height := pngSize(t, path)
		require.Equal(t, [2]int{1366, 768}, [2]int{width, height})

		path = filepath.Join(dir, "full.png")
		require.NoError(t, ScreenshotFullPage(ctx, path))
		width, height = pngSize(t, path)
		require.Equal(t, 1366, width)
		require.Greater(t, height, 2400, "the whole 2400-pixel block and what follows it")
	})
}

func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	config, err := png.DecodeConfig(f)
	require.NoError(t, err, "a PNG file")
	return config.Width, config.Height
}

func TestChromiumIsFoundOrTheTestSaysHowToInstallIt(t *testing.T) {
	notOnPath := func(string) (string, error) { return "", exec.ErrNotFound }
	dir := t.TempDir()
	fake := filepath.Join(dir, "chromium")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755))
	notExecutable := filepath.Join(dir, "chromium.txt")
	require.NoError(t, os.WriteFile(notExecutable, nil, 0o644))

	_, err := locateChromium("", filepath.Join(dir, "missing"), notOnPath)
	require.EqualError(t, err, "chromium is not installed: run `make deps` (apt-get install chromium)")

	path, err := locateChromium("", fake, notOnPath)
	require.NoError(t, err)
	require.Equal(t, fake, path, "Debian's path first")

	path, err = locateChromium("", filepath.Join(dir, "missing"), func(string) (string, error) { return "/opt/bin/chromium", nil })
	require.NoError(t, err)
	require.Equal(t, "/opt/bin/chromium", path, "then chromium on PATH")

	path, err = locateChromium(fake, filepath.Join(dir, "missing"), notOnPath)
	require.NoError(t, err)
	require.Equal(t, fake, path, "PAYRUN_CHROMIUM wins")

	_, err = locateChromium(notExecutable, fake, notOnPath)
	require.ErrorContains(t, err, "PAYRUN_CHROMIUM="+notExecutable+" is not an executable file")
	require.ErrorContains(t, err, NotInstalled)
}

func TestStartFailsWithoutChromium(t *testing.T) {
	t.Setenv(ChromiumEnv, filepath.Join(t.TempDir(), "no-chromium-here"))
	rec := &recorder{TB: t}
	require.True(t, stopped(func() { Start(rec) }), "Start fails the test (never skips it)")
	require.Contains(t, rec.fatal, "run `make deps` (apt-get install chromium)")
}

func TestAxeMissingSaysRunMakeDeps(t *testing.T) {
	_, err := loadAxe(t.TempDir())
	require.ErrorContains(t, err, "axe-core is not installed in .tools/: run `make deps`")

	root, err := RepoRoot()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	script, err := loadAxe(root)
	require.NoError(t, err, "make deps installs axe-core into the repository's .tools/")
	require.True(t, strings.Contains(script, "axe"), "axe-core's browser build")
}
