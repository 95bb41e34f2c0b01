package browser_test

import (
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The two widths every page is looked at: a laptop and a phone.
const (
	wideWidth   = 1280
	narrowWidth = 390
)

// layoutCheck lists what is wrong with the page's look at its current width, as a person
// sees it: sideways scrolling (narrow only), invalid fields that look like valid ones, an
// error summary that does not have the focus, text and control borders below the WCAG
// contrast minimums, headings that skip a level.
const layoutCheck = `((narrow) => {
  const out = [];
  const visible = el => {
    if (el.closest("[hidden]")) return false;
    const st = getComputedStyle(el);
    return st.display !== "none" && st.visibility !== "hidden" && el.getClientRects().length > 0;
  };
  const desc = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  if (narrow) {
    const de = document.documentElement;
    if (de.scrollWidth > window.innerWidth) {
      const wide = [...document.body.querySelectorAll("*")].filter(e => visible(e) && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .filter((e, _, all) => !all.some(o => o !== e && o.contains(e))).slice(0, 5).map(desc);
      out.push("the page scrolls sideways at " + window.innerWidth + " px (scrollWidth " + de.scrollWidth + "): " + wide.join(", "));
    }
  }
  // Invalid fields must look invalid: the border changes with aria-invalid.
  document.querySelectorAll("[aria-invalid=true]").forEach(el => {
    if (!visible(el) || !/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) return;
    const bad = getComputedStyle(el).borderTopColor;
    el.removeAttribute("aria-invalid");
    const good = getComputedStyle(el).borderTopColor;
    el.setAttribute("aria-invalid", "true");
    if (bad === good) out.push(desc(el) + " is aria-invalid but its border looks like a valid field's (" + bad + ")");
  });
  // An error summary takes the focus when the page loads, so a screen reader reads it.
  const summary = document.querySelector(".error-summary");
  if (summary && visible(summary) && !summary.contains(document.activeElement)) {
    out.push("the error summary does not have the focus (focus is on " + desc(document.activeElement || document.body) + ")");
  }
  const rgb = s => { const m = (s || "").match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const alpha = c => c.length > 3 ? c[3] : 1;
  const bgOf = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (alpha(c) > 0.5) return c; } return [255, 255, 255]; };
  // Text: 4.5:1, large text 3:1.
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || seen.has(el) || !visible(el) || el.closest("script,style")) continue;
    seen.add(el);
    const st = getComputedStyle(el);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const r = ratio(rgb(st.color), bgOf(el));
    if (r < need) out.push(desc(el) + " text “" + n.textContent.trim().slice(0, 30) + "” has contrast " + r.toFixed(2) + ":1, want " + need + ":1");
  }
  // Control borders against what is behind the control: 3:1 (WCAG 1.4.11), unless the
  // control's own background already stands out.
  document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a.button, summary.button").forEach(el => {
    if (!visible(el)) return;
    const st = getComputedStyle(el);
    if (parseFloat(st.borderTopWidth) === 0) return;
    const behind = bgOf(el.parentElement), own = bgOf(el);
    if (ratio(own, behind) >= 3) return;
    const r = ratio(rgb(st.borderTopColor), behind);
    if (r < 3) out.push(desc(el) + " border has contrast " + r.toFixed(2) + ":1 against its background, want 3:1");
  });
  // Headings go down one level at a time.
  let last = 0;
  document.querySelectorAll("h1,h2,h3,h4,h5,h6").forEach(h => {
    if (!visible(h)) return;
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) out.push("heading " + h.tagName.toLowerCase() + " “" + h.textContent.trim().slice(0, 30) + "” follows an h" + last);
    last = level;
  });
  return out;
})`

// checkLayout looks at the page at both widths: screenshots when asked
// (NN-step-1280.png, NN-step-390.png), and the layout checks at each; problems fail the
// test without stopping it.
func (p *Page) checkLayout(step, name string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	// A tab in the background never paints: screenshots of it wait forever.
	if _, err := chromedp.Call(ctx, page.BringToFront, cdp.Empty{}); err != nil {
		p.t.Logf("%s: bring tab %s to front: %v", step, p.name, err)
	}
	for _, width := range []int64{wideWidth, narrowWidth} {
		if width == narrowWidth {
			if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
				Width: narrowWidth, Height: 844, DeviceScaleFactor: 1, Mobile: false,
			}); err != nil {
				p.fatalf("%s: narrow the viewport: %v", step, err)
			}
		}
		if screenshotsEnabled() {
			if _, err := p.saveScreenshot(ctx, fmt.Sprintf("%s-%d", name, width)); err != nil {
				p.t.Errorf("%s: screenshot at %d px: %v", step, width, err)
			}
		}
		problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf("%s(%v)", layoutCheck, width == narrowWidth)))
		if err != nil {
			p.fatalf("%s: layout check: %v", step, err)
		}
		if len(problems) > 0 {
			p.t.Errorf("%s: at %d px, %s:\n  %s", step, width, p.Location(), strings.Join(problems, "\n  "))
		}
	}
	if _, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		p.fatalf("%s: restore the viewport: %v", step, err)
	}
	// Clicks aim at where elements are: wait until the page is laid out wide again, or
	// the next click can land where a button was at 390 px.
	const settled = `new Promise(done => { const check = () => window.innerWidth === %d ?
  requestAnimationFrame(() => requestAnimationFrame(() => done(String(window.innerWidth)))) : setTimeout(check, 20); check(); })`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(settled, wideWidth), chromedp.EvalAwaitPromise)); err != nil {
		p.fatalf("%s: the page did not return to %d px: %v", step, wideWidth, err)
	}
}
