// Package browser drives a real browser from Go tests: Debian's chromium,
// headless, through chromedp. The finance console's tests (package console)
// use it to sign in, read pages, walk them with the keyboard only, check
// every page with axe-core, download files and take the screenshots under
// docs/console/.
//
// # The browser
//
// Start finds chromium — $PAYRUN_CHROMIUM, else /usr/bin/chromium, else
// chromium on PATH — and starts it headless with a 1366×768 window, a fresh
// temporary profile, no first-run or extension noise, and --no-sandbox only
// when the tests run as root (Chromium refuses to start its sandbox as
// root). chromedp never downloads a browser: when chromium is missing the
// test fails, never skips, and says to run `make deps` (which installs
// Debian's chromium package). The browser is stopped by the test's cleanup.
//
// NewTab opens a tab in a browser context of its own — its own cookies,
// so two tabs can be signed in as two operators — with a 1366×768
// viewport at device scale 1, focus emulated (a headless tab behaves as a
// focused window, so :focus styles and focus order are those a person
// sees), a recorder of Content-Security-Policy violations installed before
// any page script, and downloads allowed into a temporary directory. Every
// helper takes the tab's context.
//
// # Accessibility
//
// Axe runs axe-core (installed by `make deps` into .tools/, found by
// walking up from the test's directory to go.mod) inside the current page
// and returns its violations. The script is injected through the DevTools
// protocol (Runtime.evaluate, and Page.addScriptToEvaluateOnNewDocument for
// the tab's later pages, so its 550 kB cross once per tab), which the
// page's Content-Security-Policy does not govern: it runs under the
// console's `script-src 'self'` without a CSP bypass, and the package's test
// checks exactly that. RequireAccessible fails the test on any serious or
// critical violation and logs the others. RequireNoCSPViolations fails it
// on anything the page's policy refused (an inline style attribute, say).
// axe-core is pinned by scripts/deps.sh: a new version can bring new rules,
// so moving the pin can fail a page that passed.
//
// # Keyboard, downloads, screenshots
//
// Navigate opens a page and AndWait runs an action that opens one (a click,
// a submit), each returning the document's response. PressTab,
// PressShiftTab, TabUntil, PressEnter, PressSpace, PressEnterAndWait and
// TypeText send real key events (Input.dispatchKeyEvent); Focused describes
// document.activeElement — tag, text, label, href, name, whether it is on
// screen — so a test asserts the focus order and that a skip link shows.
// Download runs an action (a click, or Enter on a focused link) and waits
// for the file the browser saves, as a person's download would: no fetch
// from the page, which the console's CSP (default-src 'none') would refuse
// anyway. Screenshot writes the 1366×768 viewport as PNG, ScreenshotFullPage
// the whole page.
//
// # Limits
//
// Every wait is bounded: DownloadTimeout, NavigationTimeout, and
// MaxTabPresses for TabUntil. A page that never loads or a link that never
// downloads fails the test with what was seen instead of hanging it.
package browser
