package browser

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The viewport every tab gets: the console's screenshots and its layout are
// judged at a common laptop size.
const (
	Width  = 1366
	Height = 768
)

// NotInstalled is the failure when no chromium is found.
const NotInstalled = "chromium is not installed: run `make deps` (apt-get install chromium)"

// AxeNotInstalled is the failure when axe-core is not under .tools/.
const AxeNotInstalled = "axe-core is not installed in .tools/: run `make deps`"

// ChromiumEnv names a chromium binary to use instead of Debian's.
const ChromiumEnv = "PAYRUN_CHROMIUM"

// debianChromium is where Debian's chromium package puts the browser.
const debianChromium = "/usr/bin/chromium"

// axeScript is axe-core's browser build, relative to the repository root.
var axeScript = filepath.Join(".tools", "node_modules", "axe-core", "axe.min.js")

const (
	// DownloadTimeout bounds the wait for a download to start and finish:
	// the console's files (a demo month's payment files, a CSV export) are
	// read from a local server in well under a second.
	DownloadTimeout = 30 * time.Second
	// NavigationTimeout bounds the wait for the page an Enter opens.
	NavigationTimeout = 30 * time.Second
	// MaxTabPresses bounds TabUntil: the console's longest page (a
	// publishers page of 100 rows, a link each, beside the navigation, the
	// filters and the pager) has a few hundred focusable elements.
	MaxTabPresses = 500
	// outputLimit is how much of chromium's own output is kept to explain a
	// failed start or a failed test.
	outputLimit = 16 << 10
)

// Browser is a headless chromium that a test started.
type Browser struct {
	ctx    context.Context // the chromedp context of the browser's first tab
	path   string
	output *tailBuffer
}

// Chromium returns the chromium binary the tests drive: $PAYRUN_CHROMIUM
// when set, else Debian's /usr/bin/chromium, else chromium on PATH. The
// error says how to install it.
func Chromium() (string, error) {
	return locateChromium(os.Getenv(ChromiumEnv), debianChromium, exec.LookPath)
}

func locateChromium(fromEnv, debianPath string, lookPath func(string) (string, error)) (string, error) {
	if fromEnv != "" {
		if !isExecutable(fromEnv) {
			return "", fmt.Errorf("%s=%s is not an executable file: %s, or unset %s", ChromiumEnv, fromEnv, NotInstalled, ChromiumEnv)
		}
		return fromEnv, nil
	}
	if isExecutable(debianPath) {
		return debianPath, nil
	}
	if path, err := lookPath("chromium"); err == nil {
		return path, nil
	}
	return "", errors.New(NotInstalled)
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// Start starts a headless chromium for the test and stops it when the test
// ends. It fails the test (never skips it) when chromium is missing or does
// not start. The browser gets a fresh temporary profile (chromedp's, removed
// when it stops). Start it once in a test and open a tab per subtest with
// NewTab: on this project's 2-core machines a start costs about a second,
// a tab a quarter of one.
func Start(t testing.TB) *Browser {
	t.Helper()
	path, err := Chromium()
	if err != nil {
		t.Fatal(err.Error())
	}
	output := &tailBuffer{limit: outputLimit}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(Width, Height),
		// Chromium cannot sandbox itself as root (CI and these machines
		// run as root); a user keeps the sandbox.
		chromedp.Flag("no-sandbox", os.Geteuid() == 0),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-search-engine-choice-screen", true),
		chromedp.CombinedOutput(output),
	)
	allocatorCtx, cancelAllocator := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocatorCtx)
	// The first Do starts the browser; it binds the browser's life to ctx,
	// which has no deadline: the cleanup ends it.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAllocator()
		t.Fatalf("chromium (%s) did not start: %v\nits output:\n%s", path, err, output.meaningful())
	}
	b := &Browser{ctx: ctx, path: path, output: output}
	t.Cleanup(func() {
		if t.Failed() {
			if out := output.meaningful(); out != "" {
				t.Logf("chromium's output:\n%s", out)
			}
		}
		cancel()
		cancelAllocator()
	})
	return b
}

// Path is the chromium binary the browser runs.
func (b *Browser) Path() string { return b.path }

// tab is what NewTab sets up for the helpers, in the tab's context.
type tab struct {
	downloads string // the directory the browser saves the tab's downloads in

	mu             sync.Mutex
	axePreinjected bool // axe-core runs in every new document of the tab
}

type tabKey struct{}

func tabOf(ctx context.Context) (*tab, error) {
	tb, _ := ctx.Value(tabKey{}).(*tab)
	if tb == nil {
		return nil, errors.New("not a tab's context: open one with Browser.NewTab")
	}
	return tb, nil
}

// cspRecorder runs in every document of a tab before its own scripts
// (Page.addScriptToEvaluateOnNewDocument, which the page's CSP does not
// govern) and keeps the page's CSP violations for CSPViolations.
const cspRecorder = `(() => {
	const seen = [];
	Object.defineProperty(window, '__payrunCSPViolations', {value: seen});
	document.addEventListener('securitypolicyviolation', e => seen.push({
		directive: e.effectiveDirective || e.violatedDirective || '',
		blockedURI: e.blockedURI || '',
		sample: e.sample || '',
		sourceFile: e.sourceFile || '',
		line: e.lineNumber || 0,
	}));
})()`

// NewTab opens a tab in a browser context of its own (its own cookies and
// storage) and closes it when the test ends. The returned context is the
// tab's: pass it to chromedp's actions and to this package's helpers.
func (b *Browser) NewTab(t testing.TB) context.Context {
	t.Helper()
	downloads := t.TempDir() // removed after the tab closes (cleanups run last-in first-out)
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx = context.WithValue(ctx, tabKey{}, &tab{downloads: downloads})
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(Width, Height),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
				return fmt.Errorf("emulating focus: %w", err)
			}
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
				return fmt.Errorf("installing the CSP recorder: %w", err)
			}
			return nil
		}),
	)
	if err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	_, err = chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior:         cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName,
		BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
		DownloadPath:     downloads,
		EventsEnabled:    new(true),
	})
	if err != nil {
		t.Fatalf("allowing the tab's downloads: %v", err)
	}
	return ctx
}

// Navigate opens url in the tab and waits for it to load; it returns the
// document's response, so a test can check its status.
func Navigate(ctx context.Context, url string) (*network.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, NavigationTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", url, err)
	}
	return resp, nil
}

// --- accessibility ---

// Violation is one axe-core rule a page fails.
type Violation struct {
	ID          string          `json:"id"`     // the rule, e.g. "image-alt"
	Impact      string          `json:"impact"` // minor, moderate, serious or critical
	Description string          `json:"description"`
	Help        string          `json:"help"`
	HelpURL     string          `json:"helpUrl"`
	Nodes       []ViolationNode `json:"nodes"`
}

// ViolationNode is one element that fails a rule.
type ViolationNode struct {
	Target         []string `json:"target"` // CSS selectors, one per frame or shadow root on the way
	HTML           string   `json:"html"`
	FailureSummary string   `json:"failureSummary"`
}

// Serious reports whether the violation is of impact serious or critical,
// those the console must not have.
func (v Violation) Serious() bool {
	return v.Impact == "serious" || v.Impact == "critical"
}

var axeSource struct {
	once   sync.Once
	script string
	err    error
}

// loadAxe reads axe-core's browser build under the repository root.
func loadAxe(root string) (string, error) {
	path := filepath.Join(root, axeScript)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s (no %s)", AxeNotInstalled, path)
	}
	if err != nil {
		return "", fmt.Errorf("reading axe-core: %w", err)
	}
	return string(data), nil
}

// RepoRoot is the module root above the test's working directory: the
// first directory upwards that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// axeRun runs the injected axe-core over the document and returns its
// violations in plain JSON (a target inside a shadow root or a frame is a
// list of selectors; it is flattened to them).
const axeRun = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || '', description: v.description, help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map(n => ({
		target: n.target.flat(Infinity).map(String),
		html: n.html,
		failureSummary: n.failureSummary || '',
	})),
})))`

// Axe injects axe-core into the tab's current page and runs every rule of
// its default set, returning the violations (none is an empty slice). The
// script goes in through the DevTools protocol (Runtime.evaluate,
// Page.addScriptToEvaluateOnNewDocument), which the page's CSP does not
// govern, so no CSP bypass is needed.
func Axe(ctx context.Context) ([]Violation, error) {
	axeSource.once.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			axeSource.err = fmt.Errorf("%s: %w", AxeNotInstalled, err)
			return
		}
		axeSource.script, axeSource.err = loadAxe(root)
	})
	if axeSource.err != nil {
		return nil, axeSource.err
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		return nil, fmt.Errorf("axe: reading the page: %w", err)
	}
	if !loaded {
		if err := injectAxe(ctx); err != nil {
			return nil, fmt.Errorf("axe: injecting axe-core: %w", err)
		}
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe: running the rules: %w", err)
	}
	if violations == nil {
		violations = []Violation{}
	}
	return violations, nil
}

// injectAxe runs axe-core in the current page. In a tab of NewTab, the
// first call also has the browser run it in each document the tab opens
// later (Page.addScriptToEvaluateOnNewDocument), so the 550 kB script
// crosses the protocol once per tab rather than once per page: a console
// test checks every page it opens.
func injectAxe(ctx context.Context) error {
	if tb, _ := ctx.Value(tabKey{}).(*tab); tb != nil {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if !tb.axePreinjected {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source:         axeSource.script,
				RunImmediately: new(true),
			})
			if err != nil {
				return err
			}
			tb.axePreinjected = true
			loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
			if err != nil || loaded {
				return err
			}
		}
	}
	return chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource.script))
}

// FormatViolations writes violations for a person: rule, impact, help and
// its link, then each failing element's selector, HTML and what to fix.
func FormatViolations(violations []Violation) string {
	var s strings.Builder
	for _, v := range violations {
		fmt.Fprintf(&s, "%s (%s): %s\n  %s\n", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&s, "  - %s\n    %s\n", strings.Join(n.Target, " "), n.HTML)
			for line := range strings.SplitSeq(strings.TrimSpace(n.FailureSummary), "\n") {
				if line != "" {
					fmt.Fprintf(&s, "      %s\n", strings.TrimSpace(line))
				}
			}
		}
	}
	return s.String()
}

// RequireAccessible runs Axe on the tab's current page and fails the test
// (t.Errorf, so the test goes on to its other pages) on any violation of
// impact serious or critical, printing them; the others are logged.
func RequireAccessible(t testing.TB, ctx context.Context) {
	t.Helper()
	violations, err := Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	location, _ := chromedp.Run(ctx, chromedp.Location())
	var serious, other []Violation
	for _, v := range violations {
		if v.Serious() {
			serious = append(serious, v)
		} else {
			other = append(other, v)
		}
	}
	if len(other) > 0 {
		t.Logf("axe: %d minor or moderate violation(s) on %s:\n%s", len(other), location, FormatViolations(other))
	}
	if len(serious) > 0 {
		t.Errorf("axe: %d serious or critical violation(s) on %s:\n%s", len(serious), location, FormatViolations(serious))
	}
}

// CSPViolation is one thing the page's Content-Security-Policy refused
// (an inline script or style attribute, a foreign resource).
type CSPViolation struct {
	Directive  string `json:"directive"` // e.g. script-src-elem, style-src-attr
	BlockedURI string `json:"blockedURI"`
	Sample     string `json:"sample"`
	SourceFile string `json:"sourceFile"`
	Line       int    `json:"line"`
}

// CSPViolations returns what the tab's current page's CSP has refused so
// far. The events are dispatched asynchronously: read them once the page
// has loaded.
func CSPViolations(ctx context.Context) ([]CSPViolation, error) {
	if _, err := tabOf(ctx); err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]CSPViolation](
		`new Promise(r => setTimeout(r, 0)).then(() => window.__payrunCSPViolations || [])`, chromedp.EvalAwaitPromise))
}

// RequireNoCSPViolations fails the test when the current page's CSP
// refused anything: a page that works only because a browser ignores its
// policy is broken in the browsers that do not.
func RequireNoCSPViolations(t testing.TB, ctx context.Context) {
	t.Helper()
	violations, err := CSPViolations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) == 0 {
		return
	}
	location, _ := chromedp.Run(ctx, chromedp.Location())
	var s strings.Builder
	for _, v := range violations {
		fmt.Fprintf(&s, "  %s refused %q (%s:%d) %s\n", v.Directive, v.BlockedURI, v.SourceFile, v.Line, v.Sample)
	}
	t.Errorf("the Content-Security-Policy of %s refused %d thing(s):\n%s", location, len(violations), s.String())
}

// --- keyboard ---

// Focus describes the focused element (document.activeElement).
type Focus struct {
	Tag     string `json:"tag"` // lower case; "body" when nothing is focused
	ID      string `json:"id"`
	Name    string `json:"name"`  // the name attribute
	Text    string `json:"text"`  // the visible text, spaces collapsed (a field's value; nothing for a checkbox)
	Label   string `json:"label"` // aria-label, else the text of the field's first <label>
	Href    string `json:"href"`  // the href attribute as written
	Role    string `json:"role"`
	Type    string `json:"type"`
	Checked bool   `json:"checked"` // a checkbox or radio button that is ticked
	Visible bool   `json:"visible"` // has a box inside the viewport and is not visibility:hidden (a skip link parked off-screen is not)
}

// String is a short description for test messages: `a "Cycles" href=/console/`.
func (f Focus) String() string {
	s := f.Tag
	if f.ID != "" {
		s += "#" + f.ID
	}
	if f.Text != "" {
		s += fmt.Sprintf(" %q", f.Text)
	}
	if f.Label != "" {
		s += fmt.Sprintf(" label=%q", f.Label)
	}
	if f.Name != "" {
		s += " name=" + f.Name
	}
	if f.Href != "" {
		s += " href=" + f.Href
	}
	return s
}

// focusedScript describes document.activeElement; it is called with the
// selector TabUntil looks for (or "").
const focusedScript = `(selector => {
	const e = document.activeElement || document.body;
	const toggle = e.tagName === 'INPUT' && (e.type === 'checkbox' || e.type === 'radio');
	const text = toggle ? ''
		: (e.tagName === 'INPUT' || e.tagName === 'TEXTAREA' || e.tagName === 'SELECT')
		? String(e.value || '') : String(e.innerText || e.textContent || '');
	const label = e.getAttribute('aria-label') || (e.labels && e.labels.length ? e.labels[0].innerText : '') || '';
	const box = e.getBoundingClientRect();
	const onScreen = box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0 &&
		box.left < window.innerWidth && box.top < window.innerHeight &&
		getComputedStyle(e).visibility !== 'hidden';
	return {
		tag: e.tagName.toLowerCase(),
		id: e.id || '',
		name: e.getAttribute('name') || '',
		text: text.replace(/\s+/g, ' ').trim().slice(0, 200),
		label: label.replace(/\s+/g, ' ').trim(),
		href: e.getAttribute('href') || '',
		role: e.getAttribute('role') || '',
		type: e.getAttribute('type') || '',
		checked: toggle && e.checked,
		visible: onScreen,
		matches: selector !== '' && e !== document.body && e.matches(selector),
	};
})`

type focusResult struct {
	Focus
	Matches bool `json:"matches"`
}

// focused describes the focused element and whether it matches selector.
func focused(ctx context.Context, selector string) (Focus, bool, error) {
	arg, err := json.Marshal(selector)
	if err != nil {
		return Focus{}, false, err
	}
	r, err := chromedp.Run(ctx, chromedp.Evaluate[focusResult](focusedScript+"("+string(arg)+")"))
	if err != nil {
		return Focus{}, false, fmt.Errorf("reading the focused element: %w", err)
	}
	return r.Focus, r.Matches, nil
}

// Focused describes the element that has the focus.
func Focused(ctx context.Context) (Focus, error) {
	f, _, err := focused(ctx, "")
	return f, err
}

// PressTab presses Tab n times and returns the element focused after each
// press, in order: the page's focus order.
func PressTab(ctx context.Context, n int) ([]Focus, error) {
	return pressTabs(ctx, n, false)
}

// PressShiftTab presses Shift+Tab n times, returning the focus after each.
func PressShiftTab(ctx context.Context, n int) ([]Focus, error) {
	return pressTabs(ctx, n, true)
}

func tabPress(backwards bool) chromedp.Action[chromedp.Void] {
	if backwards {
		return chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	return chromedp.KeyEvent(kb.Tab)
}

func pressTabs(ctx context.Context, n int, backwards bool) ([]Focus, error) {
	order := make([]Focus, 0, n)
	for range n {
		if err := chromedp.Do(ctx, tabPress(backwards)); err != nil {
			return order, fmt.Errorf("pressing Tab: %w", err)
		}
		f, err := Focused(ctx)
		if err != nil {
			return order, err
		}
		order = append(order, f)
	}
	return order, nil
}

// TabUntil presses Tab until the focused element matches the CSS selector
// and returns every element focused on the way, the match last. It fails
// after MaxTabPresses, or when the focus comes back round to where it
// started, listing what it passed.
func TabUntil(ctx context.Context, selector string) ([]Focus, error) {
	start, _, err := focused(ctx, selector)
	if err != nil {
		return nil, err
	}
	var order []Focus
	for range MaxTabPresses {
		if err := chromedp.Do(ctx, tabPress(false)); err != nil {
			return order, fmt.Errorf("pressing Tab: %w", err)
		}
		f, matches, err := focused(ctx, selector)
		if err != nil {
			return order, err
		}
		order = append(order, f)
		if matches {
			return order, nil
		}
		if len(order) > 1 && f == start && start.Tag != "body" {
			break
		}
	}
	return order, fmt.Errorf("no element matching %q in the focus order; Tab went through:\n%s", selector, FocusOrder(order))
}

// FocusOrder lists focused elements one a line, for test messages.
func FocusOrder(order []Focus) string {
	var s strings.Builder
	for i, f := range order {
		fmt.Fprintf(&s, "  %d. %s\n", i+1, f)
	}
	return s.String()
}

// PressEnter presses Enter on the focused element (follows a link, submits
// a form). To wait for the page it opens, use PressEnterAndWait.
func PressEnter(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter))
}

// PressSpace presses Space on the focused element (a button, a checkbox).
func PressSpace(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.KeyEvent(" "))
}

// TypeText types text into the focused element, one key event per rune.
func TypeText(ctx context.Context, text string) error {
	return chromedp.Do(ctx, chromedp.KeyEvent(text))
}

// PressEnterAndWait presses Enter on the focused element and waits for the
// page it opens, returning the document's response.
func PressEnterAndWait(ctx context.Context) (*network.Response, error) {
	return AndWait(ctx, chromedp.KeyEvent(kb.Enter))
}

// AndWait runs an action that opens a page (a click on a link, a form's
// submit) and waits for that page, returning the document's response.
func AndWait(ctx context.Context, action chromedp.Action[chromedp.Void]) (*network.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, NavigationTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		return nil, fmt.Errorf("waiting for the page to load: %w", err)
	}
	return resp, nil
}

// --- downloads ---

// File is a file the browser downloaded.
type File struct {
	Name  string // the file name the server suggested (Content-Disposition, or the link's download attribute)
	URL   string
	Bytes []byte
}

// SHA256 is the file's sha256 in lower-case hex, as the manifest writes it.
func (f File) SHA256() string {
	sum := sha256.Sum256(f.Bytes)
	return hex.EncodeToString(sum[:])
}

// DownloadLink clicks the element the CSS selector finds (a link to a
// file) and returns the file the browser saves.
func DownloadLink(ctx context.Context, selector string) (File, error) {
	return Download(ctx, chromedp.Click(chromedp.CSS(selector)))
}

// Download runs the action — a click, or PressEnter on a focused link —
// and waits for the download it starts, returning the saved file. It
// fails when no download starts or the browser cancels it, and after
// DownloadTimeout.
func Download(ctx context.Context, action chromedp.Action[chromedp.Void]) (File, error) {
	tb, err := tabOf(ctx)
	if err != nil {
		return File{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	frame := chromedp.FromContext(ctx).Target.TargetID
	// Subscribe before the action, so no event is missed. The browser
	// reports every tab's downloads on its own session: keep this tab's,
	// whose main frame has the target's id.
	begins := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress)
	if err := chromedp.Do(ctx, action); err != nil {
		return File{}, fmt.Errorf("starting the download: %w", err)
	}
	var begun cdpbrowser.EventDownloadWillBegin
	for ev, err := range begins {
		if err != nil {
			return File{}, fmt.Errorf("no download started: %w", err)
		}
		if string(ev.FrameID) == string(frame) {
			begun = ev
			break
		}
	}
	for ev, err := range progress {
		if err != nil {
			return File{}, fmt.Errorf("downloading %s: %w", begun.URL, err)
		}
		if ev.GUID != begun.GUID {
			continue
		}
		switch ev.State {
		case cdpbrowser.DownloadProgressStateCanceled:
			return File{}, fmt.Errorf("the browser canceled the download of %s", begun.URL)
		case cdpbrowser.DownloadProgressStateCompleted:
			path := ev.FilePath
			if path == "" {
				path = filepath.Join(tb.downloads, begun.GUID)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return File{}, fmt.Errorf("reading the download of %s: %w", begun.URL, err)
			}
			return File{Name: begun.SuggestedFilename, URL: begun.URL, Bytes: data}, nil
		}
	}
	return File{}, fmt.Errorf("the download of %s never finished", begun.URL)
}

// --- screenshots ---

// Screenshot writes the tab's viewport, 1366×768, as a PNG file at path
// (creating its directory).
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return writeFile(path, png)
}

// ScreenshotFullPage writes the whole page, 1366 pixels wide (wider if the
// page is) and as tall as its content, as a PNG file at path.
func ScreenshotFullPage(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		metrics, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		width, height := float64(Width), float64(Height)
		if size := metrics.CSSContentSize; size != nil {
			width, height = max(width, size.Width), max(height, size.Height)
		}
		shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: width, Height: height, Scale: 1},
			CaptureBeyondViewport: new(true),
			FromSurface:           new(true),
		})
		if err != nil {
			return nil, err
		}
		return shot.Data, nil
	})
	if err != nil {
		return fmt.Errorf("full-page screenshot: %w", err)
	}
	return writeFile(path, png)
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// tailBuffer keeps the last limit bytes written to it (chromium's output),
// safe for the allocator's goroutine and the test's.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	data  []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = append(b.data, p...)
	if over := len(b.data) - b.limit; over > 0 {
		b.data = append(b.data[:0], b.data[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.data)
}

// meaningful is the output without the lines every headless start prints
// on a machine without D-Bus (a container, CI), which explain nothing.
func (b *tailBuffer) meaningful() string {
	var kept []string
	for line := range strings.SplitSeq(b.String(), "\n") {
		if line == "" || strings.Contains(line, "dbus/") {
			continue
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "\n")
}
