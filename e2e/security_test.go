package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// watchViolations makes every page the browser opens count the
// Content-Security-Policy violations it sees, in window.violations.
func watchViolations(b *browser) {
	b.run(chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`window.violations = [];
document.addEventListener('securitypolicyviolation', function (e) { window.violations.push(e.violatedDirective + ' ' + e.blockedURI) })`).Do(ctx)
		return err
	}))
}

// TestOwnPagesUnderTheirCSP: the gateway's settings page and the stats
// dashboard work in Chromium under the strict policies they are sent
// with — nothing they need is refused — and a choice made on the
// settings page is kept.
func TestOwnPagesUnderTheirCSP(t *testing.T) {
	t.Parallel()
	base := statsGateway(t)

	b := newBrowser(t, true)
	watchViolations(b)
	b.run(chromedp.Navigate(base+"/_consent/settings?return=/"), chromedp.WaitVisible(`[data-consent-banner] [data-consent-action="accept-all"]`, chromedp.ByQuery))
	// The settings page loads itself again to show the choice.
	b.run(chromedp.Click(`[data-consent-banner] [data-consent-action="accept-all"]`, chromedp.ByQuery), chromedp.Sleep(1500*time.Millisecond),
		chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	var got string
	b.run(chromedp.Evaluate(`fetch('/_consent/consent').then(r => r.json()).then(j => JSON.stringify(j))`, &got,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if !strings.Contains(got, "analytics") || !strings.Contains(got, "marketing") {
		t.Errorf("accept-all on the settings page was not kept: %s", got)
	}
	if v := evalString(b, `window.violations.join('\n')`); v != "" {
		t.Errorf("the settings page broke its own policy:\n%s", v)
	}

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("marketing:s3cret-pass"))
	b.run(network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Authorization": auth}))
	b.run(chromedp.Navigate(base+"/consent-stats"), chromedp.WaitVisible("svg", chromedp.ByQuery))
	if v := evalString(b, `window.violations.join('\n')`); v != "" {
		t.Errorf("the dashboard broke its own policy:\n%s", v)
	}
	if !evalBool(b, `getComputedStyle(document.body).fontFamily !== '' && document.querySelectorAll('svg').length > 0 && getComputedStyle(document.querySelector('.panel')).borderRadius !== '0px'`) {
		t.Error("the dashboard lost its style under its policy")
	}
}
