package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

func evalBool(b *browser, js string) bool {
	var v bool
	b.run(chromedp.Evaluate(js, &v))
	return v
}

func evalString(b *browser, js string) string {
	var v string
	b.run(chromedp.Evaluate(js, &v))
	return v
}

// TestBannerLanguages: the page's language, then the browser's, then the
// visitor's own switch (remembered across pages, without JavaScript too).
func TestBannerLanguages(t *testing.T) {
	// Long and mostly waiting on Chromium: run beside the other long
	// browser tests, after the timing-sensitive ones (go test -parallel).
	t.Parallel()
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	for path, want := range map[string]string{"/": "kk", "/ru/index.html": "ru"} {
		b.run(chromedp.Navigate(gw + path))
		b.settle()
		if got := evalString(b, `document.querySelector('[data-consent-banner]').lang`); got != want {
			t.Errorf("%s: banner in %q, want %q (the page's language)", path, got, want)
		}
	}
	// The switch: English on a Kazakh page, remembered on the next page.
	b.run(chromedp.Navigate(gw + "/"))
	b.settle()
	b.run(chromedp.Click(`[data-consent-banner] .kl-langs button[lang="en"]`, chromedp.ByQuery))
	b.settle()
	if got := evalString(b, `location.pathname + ' ' + document.querySelector('[data-consent-banner]').lang + ' ' + document.querySelector('#kl-title').textContent`); got != "/ en Cookies and your data" {
		t.Errorf("after switching to English: %q", got)
	}
	b.run(chromedp.Navigate(gw + "/ru/contacts.html"))
	b.settle()
	if got := evalString(b, `document.querySelector('[data-consent-banner]').lang`); got != "en" {
		t.Errorf("the chosen language was not remembered: %q", got)
	}
}

// TestBannerAccessibility runs axe-core inside Chromium on both layers and
// walks the keyboard path.
func TestBannerAccessibility(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join(repoRoot, "e2e", ".axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core missing (test.sh installs it): %v", err)
		}
		t.Skip("axe-core not installed: run ./test.sh once")
	}
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	for _, scheme := range []string{"light", "dark"} {
		b.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
		for _, path := range []string{"/", "/ru/index.html"} {
			b.run(network.ClearBrowserCookies(), chromedp.Navigate(gw+path))
			b.settle()
			if got := evalString(b, `getComputedStyle(document.querySelector('.kl')).backgroundColor`); (got == "rgb(255, 255, 255)") != (scheme == "light") {
				t.Errorf("%s, %s: the banner's background is %s", path, scheme, got)
			}
			b.run(chromedp.Evaluate(string(axe), nil))
			for _, layer := range []string{"first", "second"} {
				if layer == "second" {
					b.run(chromedp.Click(`[data-consent-action="customize"]`, chromedp.ByQuery), chromedp.WaitVisible(`[role="switch"]`, chromedp.ByQuery))
				}
				var res string
				b.run(chromedp.Evaluate(`axe.run(document.querySelector('[data-consent-banner]'), {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']}}).then(r => JSON.stringify(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))`,
					&res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
				var violations []string
				if err := json.Unmarshal([]byte(res), &violations); err != nil {
					t.Fatalf("axe-core did not run: %q", res)
				}
				if len(violations) > 0 {
					t.Errorf("%s, %s, %s layer: axe-core violations: %v", path, scheme, layer, violations)
				}
			}
		}
	}
	b.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}))

	// The judge can fail: a control without a name is a violation.
	var bad string
	b.run(chromedp.Evaluate(`document.querySelector('[data-consent-banner]').insertAdjacentHTML('beforeend', '<button></button>'); axe.run(document.querySelector('[data-consent-banner]')).then(r => JSON.stringify(r.violations.map(v => v.id)))`,
		&bad, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if !strings.Contains(bad, "button-name") {
		t.Errorf("axe-core missed a nameless button: %s", bad)
	}

	// Keyboard: from the top of the page, Tab reaches every banner control
	// early; Escape closes the second layer without deciding.
	b.run(chromedp.Navigate(gw + "/"))
	b.settle()
	seen := map[string]bool{}
	for i := 0; i < 12; i++ {
		b.run(chromedp.KeyEvent("\t"))
		seen[evalString(b, `(document.activeElement.getAttribute('data-consent-action') || document.activeElement.closest('.kl-langs') && document.activeElement.lang || '')`)] = true
	}
	for _, want := range []string{"accept-all", "reject-all", "customize", "kk", "ru", "en"} {
		if !seen[want] {
			t.Errorf("Tab did not reach %q within 12 presses: %v", want, seen)
		}
	}
	// Enter on Customise brings the second layer in place, focus on its
	// first switch; Space switches it; Escape goes back to the first
	// layer, deciding nothing, focus on Customise.
	b.run(chromedp.Focus(`[data-consent-action="customize"]`, chromedp.ByQuery), chromedp.KeyEvent("\r"), chromedp.WaitVisible(`[role="switch"]`, chromedp.ByQuery))
	if got := evalString(b, `document.activeElement.id + ' ' + document.activeElement.getAttribute('role') + ' ' + document.activeElement.checked`); got != "kl-c-functional switch false" {
		t.Fatalf("after Enter on Customise the focus is on %q, want the first switch, off", got)
	}
	b.run(chromedp.KeyEvent(" "))
	if !evalBool(b, `document.activeElement.checked`) {
		t.Error("Space did not switch the focused category on")
	}
	b.run(chromedp.KeyEvent(kbEscape), chromedp.Sleep(150*time.Millisecond))
	if evalBool(b, `!!document.querySelector('[role="switch"]')`) || !evalBool(b, `!!document.querySelector('[data-consent-banner]')`) {
		t.Error("Escape should bring the first layer back and decide nothing")
	}
	if got := evalString(b, `document.activeElement.getAttribute('data-consent-action') || ''`); got != "customize" {
		t.Errorf("focus after Escape on %q, want the customise control", got)
	}
	if got := evalString(b, `document.cookie`); strings.Contains(got, "kelisim") {
		t.Errorf("Escape decided something: %s", got)
	}
}

const kbEscape = "\u001b"

// TestBannerNoLayoutShift: the banner overlays; the page's cumulative
// layout shift stays under 0.01.
func TestBannerNoLayoutShift(t *testing.T) {
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	// A slow CPU makes the parser yield mid-page, as it does on a cheap
	// phone: whatever paints half-parsed shows here, not only under load.
	b.run(emulation.SetCPUThrottlingRate(6))
	for _, path := range []string{"/", "/news.html", "/ru/contacts.html"} {
		b.run(chromedp.Navigate(gw+path), chromedp.Sleep(1500*time.Millisecond))
		var cls float64
		b.run(chromedp.Evaluate(`new Promise(r => { let s = 0; new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) s += e.value; }).observe({type: 'layout-shift', buffered: true}); setTimeout(() => r(s), 300); })`,
			&cls, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if cls >= 0.01 {
			t.Errorf("%s: cumulative layout shift %.4f", path, cls)
		}
		t.Logf("%s: CLS %.4f", path, cls)
	}
}

// TestGoogleConsentMode: the default comes before any Google tag, all
// denied until granted; a choice sends the update.
func TestGoogleConsentMode(t *testing.T) {
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	b.run(chromedp.Navigate(gw + "/"))
	b.settle()
	first := evalString(b, `JSON.stringify(Array.from(window.dataLayer[0]))`)
	if !strings.HasPrefix(first, `["consent","default",{"ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied","analytics_storage":"denied"`) ||
		!strings.Contains(first, `"wait_for_update":500`) {
		t.Errorf("first dataLayer entry: %s", first)
	}
	b.run(chromedp.Click(`[data-consent-action="customize"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#kl-c-analytics`, chromedp.ByQuery),
		chromedp.Click(`#kl-c-analytics`, chromedp.ByQuery),
		chromedp.Click(`[data-consent-action="save"]`, chromedp.ByQuery), chromedp.Sleep(800*time.Millisecond))
	upd := evalString(b, `JSON.stringify(Array.from(window.dataLayer).map(e => Array.from(e)).filter(e => e[0]==='consent' && e[1]==='update'))`)
	if !strings.Contains(upd, `"analytics_storage":"granted"`) || !strings.Contains(upd, `"ad_storage":"denied"`) {
		t.Errorf("update after granting analytics: %s", upd)
	}
	// A returning visitor's default already reflects the choice.
	b.run(chromedp.Navigate(gw + "/news.html"))
	b.settle()
	if got := evalString(b, `JSON.stringify(Array.from(window.dataLayer[0]))`); !strings.Contains(got, `"analytics_storage":"granted"`) || strings.Contains(got, "wait_for_update") {
		t.Errorf("returning visitor's default: %s", got)
	}
}

// TestGlobalPrivacyControl: with Sec-GPC: 1 the banner says so, and
// accept-all leaves marketing off; the record notes the signal.
func TestGlobalPrivacyControl(t *testing.T) {
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	b.run(network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Sec-GPC": "1"}))
	b.run(chromedp.Navigate(gw + "/"))
	b.settle()
	if !evalBool(b, `!!document.querySelector('[data-consent-banner] .kl-gpc')`) {
		t.Error("the banner does not say the GPC signal is respected")
	}
	b.run(chromedp.Click(`[data-consent-action="accept-all"]`, chromedp.ByQuery), chromedp.Sleep(800*time.Millisecond))
	got := evalString(b, `window.kelisim.consent().join(' ')`)
	if got != "functional analytics" {
		t.Errorf("accept-all with GPC granted %q, want functional analytics", got)
	}
	var hist string
	b.run(chromedp.Evaluate(`fetch('/_consent/consent').then(r => r.text())`, &hist, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if !strings.Contains(hist, `"gpc":true`) {
		t.Errorf("the record does not note the GPC signal: %s", hist)
	}
}

// TestPlaceholderLoadOnce: a blocked video shows its placeholder; "load
// once" loads just that frame, without granting the category.
func TestPlaceholderLoadOnce(t *testing.T) {
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	b.run(chromedp.Navigate(gw + "/news.html"))
	b.settle()
	if b.requested("www.youtube.com") {
		t.Fatal("video loaded before consent")
	}
	if !evalBool(b, `(function(){ var r = document.querySelector('iframe[data-consent-category]').getBoundingClientRect(); return r.width >= 300 && r.height >= 150; })()`) {
		t.Error("the blocked video lost its size")
	}
	ok := evalBool(b, `(function(){ var f = document.querySelector('iframe[data-consent-category]'); var btn = f.contentDocument.querySelector('[data-consent-load-once]'); if (!btn) return false; btn.click(); return true; })()`)
	if !ok {
		t.Fatal("no load-once button in the placeholder")
	}
	b.run(chromedp.Sleep(800 * time.Millisecond))
	if !b.requested("www.youtube.com") {
		t.Error("load once did not load the video")
	}
	if got := evalString(b, `window.kelisim.consent().join(' ')`); got != "" {
		t.Errorf("load once granted %q", got)
	}
}

// TestBannerSmallScreensAndZoom: at 360 px wide and at 200% zoom the
// banner fits the width, scrolls within itself, and both choices stay
// reachable.
func TestBannerSmallScreensAndZoom(t *testing.T) {
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	for _, vp := range []struct {
		name          string
		width, height int64
		scale         float64
	}{{"360px phone", 360, 640, 2}, {"200% zoom", 640, 450, 2}} {
		b.run(emulation.SetDeviceMetricsOverride(vp.width, vp.height, vp.scale, vp.width < 400))
		b.run(chromedp.Navigate(gw + "/"))
		b.settle()
		fits := evalBool(b, `(function(){
			var bn = document.querySelector('[data-consent-banner]'), r = bn.getBoundingClientRect();
			return r.left >= 0 && r.right <= innerWidth && r.bottom <= innerHeight && r.top >= 0 && bn.scrollWidth <= bn.clientWidth + 1;
		})()`)
		if !fits {
			t.Errorf("%s: the banner does not fit the viewport", vp.name)
		}
		for _, act := range []string{"accept-all", "reject-all", "customize"} {
			visible := evalBool(b, `(function(){ var e = document.querySelector('[data-consent-banner] [data-consent-action="`+act+`"]');
				e.scrollIntoView({block: 'nearest'}); var r = e.getBoundingClientRect();
				var hit = document.elementFromPoint(r.left + r.width/2, r.top + r.height/2);
				return r.width > 0 && r.top >= 0 && r.bottom <= innerHeight && (hit === e || e.contains(hit)); })()`)
			if !visible {
				t.Errorf("%s: %s cannot be reached", vp.name, act)
			}
		}
	}
}

// TestBannerOnAPhone: at 390×740 the first layer takes at most 40 % of
// the screen in each language (Kazakh's texts are the longest), with
// Accept all and Reject all side by side and of one size; Customise
// brings the second layer in place, a named switch per category and
// none on, every processor of the category under it.
func TestBannerOnAPhone(t *testing.T) {
	t.Parallel()
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	b.run(emulation.SetDeviceMetricsOverride(390, 740, 3, true))
	for _, lang := range []string{"kk", "ru", "en"} {
		b.run(network.ClearBrowserCookies(), chromedp.Navigate(gw+"/_consent/lang?l="+lang+"&return=/"),
			chromedp.WaitVisible(`[data-consent-action="customize"]`, chromedp.ByQuery))
		var m struct {
			Lang                      string
			Height, Viewport          float64
			AcceptW, RejectW, AcceptY float64
			RejectY, AcceptH, RejectH float64
		}
		b.run(chromedp.Evaluate(`(function () {
			var k = document.querySelector('[data-consent-banner]'), a = document.querySelector('[data-consent-action="accept-all"]').getBoundingClientRect(),
				r = document.querySelector('[data-consent-action="reject-all"]').getBoundingClientRect();
			return {Lang: k.lang, Height: k.getBoundingClientRect().height, Viewport: innerHeight, AcceptW: a.width, RejectW: r.width, AcceptY: a.top, RejectY: r.top, AcceptH: a.height, RejectH: r.height};
		})()`, &m))
		share := m.Height / m.Viewport
		t.Logf("%s: first layer %.0f px of %.0f (%.1f %%)", lang, m.Height, m.Viewport, 100*share)
		if m.Lang != lang || m.Viewport != 740 {
			t.Fatalf("measured the %q banner in a %.0f px viewport", m.Lang, m.Viewport)
		}
		if share > 0.40 {
			t.Errorf("%s: the first layer covers %.1f %% of a 390×740 screen, over 40 %%", lang, 100*share)
		}
		if m.AcceptY != m.RejectY || m.AcceptW != m.RejectW || m.AcceptH != m.RejectH {
			t.Errorf("%s: accept and reject are not side by side and of one size: %+v", lang, m)
		}
		b.run(chromedp.Click(`[data-consent-action="customize"]`, chromedp.ByQuery), chromedp.WaitVisible(`[role="switch"]`, chromedp.ByQuery))
		got := evalString(b, `Array.from(document.querySelectorAll('[data-consent-banner] [role="switch"]')).map(s =>
			s.labels[0].textContent + (s.checked ? ' on' : ' off') + (s.disabled ? ' fixed' : '') + ' | ' + document.getElementById(s.getAttribute('aria-describedby')).textContent).join('\n')`)
		lines := strings.Split(got, "\n")
		if len(lines) != 4 || !strings.Contains(lines[0], " on fixed | ") {
			t.Fatalf("%s: second layer switches:\n%s", lang, got)
		}
		for i, want := range []string{"Yandex Maps", "Yandex Metrica", "Meta Pixel"} {
			if l := lines[i+1]; !strings.Contains(l, " off | ") || !strings.Contains(l, want) {
				t.Errorf("%s: switch %d is on or does not name %s: %s", lang, i+1, want, l)
			}
		}
	}
}

// TestReopenedChoices: after a choice, the reopen button shows the second
// layer with the choice switched as it stands; its close button (named)
// and Escape leave it without deciding, focus back on the reopen
// button; a category switched off there is withdrawn.
func TestReopenedChoices(t *testing.T) {
	t.Parallel()
	_, gw, _ := demo(t, "")
	b := newBrowser(t, true)
	b.run(chromedp.Navigate(gw+"/"), chromedp.WaitVisible(`[data-consent-action="accept-all"]`, chromedp.ByQuery),
		chromedp.Click(`[data-consent-action="accept-all"]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-consent-reopen]`, chromedp.ByQuery))
	if got := evalString(b, `document.querySelector('[data-consent-reopen]').getAttribute('aria-label')`); got != "Cookie баптаулары" {
		t.Errorf("the reopen button is named %q", got)
	}
	for _, leave := range []string{"close", "escape"} {
		b.run(chromedp.Click(`[data-consent-reopen]`, chromedp.ByQuery), chromedp.WaitVisible(`[role="switch"]`, chromedp.ByQuery))
		if got := evalString(b, `Array.from(document.querySelectorAll('[role="switch"]')).map(s => s.checked ? 'on' : 'off').join(' ')`); got != "on on on on" {
			t.Errorf("the reopened layer does not show accept-all: %s", got)
		}
		if leave == "close" {
			if got := evalString(b, `document.querySelector('.kl-x').getAttribute('aria-label')`); got != "Жабу" {
				t.Errorf("the close button is named %q", got)
			}
			b.run(chromedp.Click(`.kl-x`, chromedp.ByQuery))
		} else {
			b.run(chromedp.KeyEvent(kbEscape))
		}
		b.run(chromedp.Sleep(150 * time.Millisecond))
		if got := evalString(b, `(document.querySelector('[data-consent-banner]') ? 'banner ' : '') + (document.activeElement.hasAttribute('data-consent-reopen') ? 'focus on reopen' : document.activeElement.outerHTML.slice(0, 80))`); got != "focus on reopen" {
			t.Errorf("after %s: %s", leave, got)
		}
	}
	b.run(chromedp.Click(`[data-consent-reopen]`, chromedp.ByQuery), chromedp.WaitVisible(`#kl-c-marketing`, chromedp.ByQuery),
		chromedp.Click(`#kl-c-marketing`, chromedp.ByQuery), chromedp.Click(`[data-consent-action="save"]`, chromedp.ByQuery),
		chromedp.Sleep(1500*time.Millisecond))
	b.settle()
	if got := evalString(b, `window.kelisim.consent().join(' ')`); got != "functional analytics" {
		t.Errorf("after switching marketing off: %q", got)
	}
}

// TestCustomiseWithoutJavaScript: Customise leads to the settings page's
// second layer; the choice made there goes back to the page the visitor
// was reading, and holds.
func TestCustomiseWithoutJavaScript(t *testing.T) {
	t.Parallel()
	_, gw, _ := demo(t, "")
	b := newBrowser(t, false)
	b.run(chromedp.Navigate(gw+"/ru/contacts.html"), chromedp.WaitVisible(`[data-consent-action="customize"]`, chromedp.ByQuery),
		chromedp.Click(`[data-consent-action="customize"]`, chromedp.ByQuery), chromedp.WaitVisible(`#kl-c-analytics`, chromedp.ByQuery))
	if got := evalString(b, `location.pathname + ' ' + document.documentElement.lang`); got != "/_consent/settings ru" {
		t.Fatalf("Customise without JavaScript led to %q", got)
	}
	b.run(chromedp.Click(`#kl-c-analytics`, chromedp.ByQuery), chromedp.Click(`[data-consent-action="save"]`, chromedp.ByQuery),
		chromedp.Sleep(800*time.Millisecond))
	if got := evalString(b, `location.pathname`); got != "/ru/contacts.html" {
		t.Errorf("after the choice the visitor is on %s, not back on their page", got)
	}
	b.run(chromedp.Navigate(gw + "/_consent/settings?lang=ru"))
	if !evalBool(b, `document.body.innerText.includes('Аналитика: разрешено') && document.body.innerText.includes('Маркетинг: отклонено')`) {
		t.Errorf("the choice did not hold:\n%s", evalString(b, `document.body.innerText`))
	}
}

// TestSettingsPage: with JavaScript off, the settings page changes a
// choice (and comes back showing it, with its history), withdraws it,
// and leads back to the page the visitor came from; with JavaScript on,
// axe-core finds no WCAG 2.2 AA violation on it, undecided or decided,
// light or dark.
func TestSettingsPage(t *testing.T) {
	t.Parallel()
	axe, err := os.ReadFile(filepath.Join(repoRoot, "e2e", ".axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core missing (test.sh installs it): %v", err)
	}
	_, gw, _ := demo(t, "")
	settings := gw + "/_consent/settings?return=/news.html&lang=ru"

	b := newBrowser(t, false)
	b.run(chromedp.Navigate(settings), chromedp.WaitVisible(`#kl-c-analytics`, chromedp.ByQuery))
	if !evalBool(b, `document.body.innerText.includes('Вы ещё не сделали выбор')`) {
		t.Error("a new visitor is not told nothing is decided")
	}
	b.run(chromedp.Click(`#kl-c-analytics`, chromedp.ByQuery),
		chromedp.Click(`[data-consent-action="save"]`, chromedp.ByQuery),
		chromedp.Sleep(800*time.Millisecond))
	if u := evalString(b, `location.pathname`); u != "/_consent/settings" {
		t.Fatalf("after the choice the browser is on %s, not back on the settings page", u)
	}
	if !evalBool(b, `document.body.innerText.includes('Аналитика: разрешено') && document.body.innerText.includes('Маркетинг: отклонено') && document.querySelectorAll('tbody tr').length === 1`) {
		t.Errorf("the settings page does not show the choice and its record:\n%s %s", evalString(b, `location.href`), evalString(b, `document.documentElement.outerHTML.slice(0, 3000)`))
	}
	b.run(chromedp.Click(`button[value="withdraw"]`, chromedp.ByQuery), chromedp.Sleep(800*time.Millisecond))
	if !evalBool(b, `document.body.innerText.includes('Вы ещё не сделали выбор') && document.body.innerText.includes('решений не сохранено')`) {
		t.Errorf("after withdrawing, the page still shows a choice or records:\n%s", evalString(b, `document.body.innerText`))
	}
	b.run(chromedp.Click(`a[href="/news.html"]`, chromedp.ByQuery), chromedp.Sleep(500*time.Millisecond))
	if u := evalString(b, `location.pathname`); u != "/news.html" {
		t.Errorf("the way back leads to %s", u)
	}

	js := newBrowser(t, true)
	for _, state := range []string{"undecided", "decided"} {
		if state == "decided" {
			postJSON(t, gw+"/_consent/consent", `{"action":"accept-all"}`, "")
			js.run(chromedp.Evaluate(`fetch('/_consent/consent', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"action":"accept-all"}'})`, nil), chromedp.Sleep(300*time.Millisecond))
		}
		for _, scheme := range []string{"light", "dark"} {
			js.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
				chromedp.Navigate(settings), chromedp.WaitVisible(`h1`, chromedp.ByQuery), chromedp.Evaluate(string(axe), nil))
			if got := evalString(js, `getComputedStyle(document.body).backgroundColor`); (got == "rgb(245, 246, 248)") != (scheme == "light") {
				t.Errorf("%s, %s: the page's background is %s", state, scheme, got)
			}
			var out string
			js.run(chromedp.Evaluate(`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']}}).then(r => JSON.stringify(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))`,
				&out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
			if out != "[]" {
				t.Errorf("%s, %s: axe-core violations on the settings page: %s", state, scheme, out)
			}
		}
	}
}

// TestThemeChangesTheBanner: a theme in the Caddyfile reaches what the
// browser renders — the buttons' colour, the corners, dark, the position —
// and without one the built-in look stays.
func TestThemeChangesTheBanner(t *testing.T) {
	t.Parallel()
	_, plain, _ := demo(t, "")
	_, themed, _ := demo(t, "theme {\n\t\t\taccent 1b5e20\n\t\t\tradius 0\n\t\t\tposition bottom-left\n\t\t\tdark on\n\t\t}")
	b := newBrowser(t, true)
	b.run(chromedp.EmulateViewport(1280, 800))
	look := func(base string) string {
		b.run(network.ClearBrowserCookies(), chromedp.Navigate(base+"/"), chromedp.WaitVisible(`[data-consent-action="accept-all"]`, chromedp.ByQuery))
		return evalString(b, `(function () { var k = document.querySelector('.kl'), s = getComputedStyle(document.querySelector('[data-consent-action="accept-all"]'));
  return s.backgroundColor + ' | ' + getComputedStyle(k).borderTopLeftRadius + ' | ' + getComputedStyle(k).backgroundColor + ' | ' + Math.round(k.getBoundingClientRect().left) })()`)
	}
	got, want := look(plain), "rgb(11, 87, 208) | 12px | rgb(255, 255, 255) | "
	if !strings.HasPrefix(got, want) || strings.HasSuffix(got, "| 16") {
		t.Errorf("built-in look: %q, want %q and centred", got, want)
	}
	if got := look(themed); got != "rgb(27, 94, 32) | 0px | rgb(31, 31, 31) | 16" {
		t.Errorf("themed: %q, want the accent, square corners, dark, at the left (16px)", got)
	}
}
