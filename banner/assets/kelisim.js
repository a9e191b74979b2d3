// Kelisim client: guards against trackers injected at run time, posts the
// visitor's choice and brings neutralised elements back in place, in
// document order, without a reload. Loaded synchronously first in <head>,
// so its guards are in place before any page script (and before Google Tag
// Manager) runs. /*RULES*/ is replaced at start-up by the catalog's URL
// rules: [[host, pathPrefix, categoryBits], ...] and the necessary hosts;
// /*FETCHING*/ and /*SRCSET*/ by the table of elements that
// fetch URLs (package fetching), the one the rewriter and scan use.
(function () {
  "use strict";
  var d = document, w = window;
  var me = d.currentScript;
  var cfg = me ? me.dataset : {};
  // Absolute: a page's <base href> must not send the visitor's choice
  // elsewhere.
  var P = new URL(cfg.prefix || "/_consent/", location.href).href;
  var lang = cfg.lang || d.documentElement.lang || "kk";
  // R: [[functional], [analytics], [marketing], [necessary]] patterns,
  // "host" or "host/path-prefix".
  // Each pattern is split once into [host, path prefix].
  var R = /*RULES*/["", "", "", ""].map(function (l) { return l ? l.split(" ").map(split) : []; });
  function split(e) { var i = e.search(/[\/?]/); return i < 0 ? [e, ""] : [e.slice(0, i), e[i] === "?" ? "/" + e.slice(i) : e.slice(i)]; }
  var NAMES = ["functional", "analytics", "marketing"];
  function bits(cats) {
    var b = 0;
    (cats || "").split(" ").forEach(function (c) { var i = NAMES.indexOf(c); if (i >= 0) b |= 1 << i; });
    return b;
  }
  var granted = bits(cfg.granted);
  function allowed(b) { return (granted & b) === b; }
  function catNames(b) { return NAMES.filter(function (_, i) { return b & (1 << i); }).join(" "); }

  // H: host to its patterns, [path prefix, category bit] (0 for a
  // necessary one), so a URL costs one look-up per label of its host.
  var H = {};
  R.forEach(function (l, c) { l.forEach(function (e) { (H[e[0]] = H[e[0]] || []).push([e[1], c < 3 ? 1 << c : 0]); }); });
  // classify returns the category bits of the processor owning url, 0 if
  // none. A plain absolute URL (lower-case host, nothing the URL parser
  // would rewrite) on a host with no path patterns is read without a
  // parse.
  // here: the page's own host and port, read once (every read of
  // location goes through the browser's cross-origin checks).
  var here = location.host;
  // seen: what the start of an absolute URL up to its first "/" after
  // the scheme decides — its category bits, or -1 where the path does or
  // the URL parser must read it — so a URL of a host met before costs
  // one look-up (a page sets thousands of them). Bounded: emptied when
  // full.
  // last is the key looked up last and lastC its answer: a run of URLs
  // of one host is compared, not looked up.
  var seen = Object.create(null), nSeen = 0, last = "", lastC;
  function classify(url) {
    var end = url.lastIndexOf("http", 0) ? -1 : url.indexOf("/", 8), key, c;
    if (end > 0 && end === last.length && url.lastIndexOf(last, 0) === 0) c = lastC;
    else c = (key = end > 0 && url.slice(0, end)) ? seen[key] : -1;
    if (c === undefined) {
      var m = /^https?:\/\/(([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::\d+)?)(?=[\/?#]|$)/.exec(key + "/");
      c = !m ? -1 : m[1] === here ? 0 : byHost(m[2], null);
      if (++nSeen > 999) seen = Object.create(null), nSeen = 0;
      seen[key] = c;
    }
    if (key) last = key, lastC = c;
    if (c >= 0) return c;
    var u;
    try { u = new URL(url, d.baseURI); } catch (e) { return 0; }
    if (u.host === here || !/^(https?|wss?):$/.test(u.protocol)) return 0;
    return byHost(u.hostname.replace(/\.$/, ""), u.pathname + u.search);
  }
  // byHost classifies host h with path and query pq: a necessary pattern
  // on any level wins; else the most specific host, then the longest path
  // prefix. Without pq it answers -1 where a path would decide.
  function byHost(h, pq) {
    var cat = 0, nec = 0, k, l, best, level;
    for (;;) {
      l = H[h];
      for (k = 0, best = -1, level = 0; l && k < l.length; k++) {
        if (pq === null && l[k][0]) return -1;
        if (pq === null || pq.indexOf(l[k][0]) === 0) {
          if (!l[k][1]) nec = 1;
          else if (l[k][0].length > best) { best = l[k][0].length; level = l[k][1]; }
        }
      }
      cat = cat || level;
      k = h.indexOf(".");
      if (k < 0) return nec ? 0 : cat;
      h = h.slice(k + 1);
    }
  }
  // str turns a value into the string the browser would, once: what is
  // checked is what is used (an object's toString may answer differently
  // the second time). Trusted Types values stay what they are.
  function str(v) { return typeof v == "object" && w.trustedTypes && (trustedTypes.isScriptURL(v) || trustedTypes.isHTML(v)) ? v : String(v); }
  function blocked(url) { var c = classify(url); return c && !allowed(c) ? c : 0; }
  function blockedSet(srcset) {
    var c = 0;
    srcset.split(",").forEach(function (part) { var u = part.trim().split(/\s+/)[0]; if (u) c |= blocked(u); });
    return c;
  }

  // Queue stubs, shaped like the vendors' own, so a site script that
  // calls ym(...) or gtag(...) runs before consent instead of throwing;
  // the calls wait in the queue that the vendor's script reads once
  // consent loads it (and never leave the page otherwise).
  w.dataLayer = w.dataLayer || [];
  w.gtag = w.gtag || function () { w.dataLayer.push(arguments); };
  w.ym = w.ym || function () { (w.ym.a = w.ym.a || []).push(arguments); };
  w.ym.l = w.ym.l || +new Date();

  // Google Consent Mode v2: the default, before any Google tag runs (this
  // script is the first in <head>), from the visitor's current consent.
  function gcmState() {
    var g = function (b) { return allowed(b) ? "granted" : "denied"; };
    return {
      ad_storage: g(4), ad_user_data: g(4), ad_personalization: g(4),
      analytics_storage: g(2), functionality_storage: g(1), personalization_storage: g(1),
      security_storage: "granted"
    };
  }
  if (cfg.gcm) {
    var def = gcmState();
    if (cfg.decided !== "1") def.wait_for_update = 500;
    w.gtag("consent", "default", def);
  }

  // Guards: elements and requests created by scripts at run time.
  var sa = Element.prototype.setAttribute;
  // FETCH: upper-case tag name (SVG's are lower- or camel-case: upper-cased
  // before the look-up) to the attributes it fetches URLs through; SRCSET:
  // those of them holding a srcset list.
  var FETCH = /*FETCHING*/{}, SRCSET = /*SRCSET*/[];
  function urlAttrs(el) { return FETCH[el.tagName.toUpperCase()] || []; }
  // park keeps URL (or srcset list) v of attribute a of el as data-a, out
  // of the browser's reach, when a processor not consented to owns it,
  // with the categories that bring it back. It reports whether it did.
  // fetches: a is known to fetch for el (its property setter).
  var held = 0; // how many times the guard has changed an element
  function park(el, a, v, fetches) {
    var c = (fetches || urlAttrs(el).indexOf(a) >= 0) && (SRCSET.indexOf(a) < 0 ? blocked : blockedSet)(String(v));
    if (c) {
      mark(el, c);
      sa.call(el, "data-" + a, v);
      // A parked script fails as a refused one does (as under a CSP):
      // a loader waiting on it goes on.
      if (el.tagName === "SCRIPT") sa.call(el, "type", "text/plain"), fail(el, ["error"]);
    }
    return c;
  }
  // mark counts a change of the guard's to el and names the categories
  // that undo it.
  function mark(el, c) {
    held++;
    return sa.call(el, "data-consent-category", catNames(c));
  }
  // fail fires events of types at x once the caller's task is done (its
  // handlers are set by then).
  function fail(x, types) {
    setTimeout(function () { types.forEach(function (t) { x.dispatchEvent(new ProgressEvent(t)); }); });
  }
  // hold parks the URLs el already has; a script's own type is kept as
  // data-type (read first: park overwrites it).
  function hold(el) {
    if (!el || el.nodeType !== 1) return;
    var type = el.getAttribute("type"), c;
    urlAttrs(el).forEach(function (a) {
      var v = el.getAttribute(a);
      if (v && park(el, a, v)) {
        if (el.tagName === "SCRIPT" && type) sa.call(el, "data-type", type);
        el.removeAttribute(a);
      }
    });
    // A style sheet waits as type=text/plain (its own type kept as
    // data-type), a style attribute as data-style.
    if (el.tagName === "STYLE" && (c = cssBlocked(el.textContent))) {
      mark(el, c);
      if (type) sa.call(el, "data-type", type);
      sa.call(el, "type", "text/plain");
    }
    if ((c = cssBlocked(el.getAttribute("style")))) {
      mark(el, c);
      sa.call(el, "data-style", el.getAttribute("style"));
      el.removeAttribute("style");
    }
    // A srcdoc document is guarded as an HTML string (its own elements
    // wait in it).
    var doc = el.tagName === "IFRAME" && el.getAttribute("srcdoc"), safe = doc && guardHTML(doc);
    if (safe !== doc) { held++; sa.call(el, "srcdoc", safe); }
  }
  // cssBlocked returns the categories not granted of the processors the
  // URLs in CSS text (url(), @import) load from. Escapes (\2f for "/",
  // \75 rl for url) are read first, as the browser's CSS parser reads
  // them.
  function cssBlocked(css) {
    var c = 0, re = /url\(\s*(['"]?)([^'")]+)\1|@import\s*(['"])([^'"]+)\3/gi, m;
    css = css && css.replace(/\\(?:([0-9a-f]{1,6})[ \t\n\r\f]?|(.))/gi, function (_, hex, ch) {
      var n = hex && parseInt(hex, 16);
      return hex ? String.fromCodePoint(n && n < 0x110000 && (n < 0xd800 || n > 0xdfff) ? n : 0xfffd) : ch;
    });
    while (css && (m = re.exec(css))) c |= blocked(m[2] || m[4]);
    return c;
  }
  function guardTree(n) {
    hold(n);
    if (n && n.firstElementChild && n.querySelectorAll) [].forEach.call(n.querySelectorAll(SEL), hold);
  }
  ["appendChild", "insertBefore", "replaceChild"].forEach(function (m) {
    var orig = Node.prototype[m];
    Node.prototype[m] = function (n) { guardTree(n); return orig.apply(this, arguments); };
  });
  ["append", "prepend", "before", "after", "replaceWith", "replaceChildren"].forEach(function (m) {
    [Element.prototype, DocumentFragment.prototype].forEach(function (proto) {
      var orig = proto[m];
      if (!orig) return;
      proto[m] = function () { for (var i = 0; i < arguments.length; i++) guardTree(arguments[i]); return orig.apply(this, arguments); };
    });
  });
  var iae = Element.prototype.insertAdjacentElement;
  Element.prototype.insertAdjacentElement = function (pos, el) { guardTree(el); return iae.call(this, pos, el); };
  // The properties of the same names (img.src, img.srcset, link.href,
  // video.poster, object.data…), on whichever prototype has each (not
  // link.imageSrcset, named otherwise); SEL, built on the way, finds an
  // element with any of the attributes in a tree (xlink:href in any
  // namespace).
  // MOVED, built on the way too: every attribute the rewriter or the guard
  // may have renamed data-<name>.
  var SEL = [], MOVED = ["type", "style", "action"];
  for (var t in FETCH) FETCH[t].forEach(function (a) {
    var check = SRCSET.indexOf(a) < 0 ? blocked : blockedSet;
    setter(d.createElement(t), a, function (o, el, v) { v = str(v); check(String(v)) ? park(el, a, v, 1) : o.call(el, v); });
    if (MOVED.indexOf(a) < 0) {
      MOVED.push(a);
      SEL.push("[" + a.replace("xlink:", "*|") + "]");
    }
  });
  SEL = SEL.concat("style", "[style]", "[srcdoc]").join();
  Element.prototype.setAttribute = function (n, v) {
    n = String(n).toLowerCase();
    var c = n === "style" && cssBlocked(String(v));
    if (c) {
      sa.call(this, "data-style", v);
      return mark(this, c);
    }
    if (n === "srcdoc") v = guardHTML(String(v));
    v = str(v);
    if (!park(this, n, v)) return sa.call(this, n, v);
  };
  setter(HTMLIFrameElement.prototype, "srcdoc", function (o, el, v) { o.call(el, guardHTML(String(v))); });
  // HTML strings (innerHTML, insertAdjacentHTML, outerHTML) are parsed in
  // an inert <template> first, where nothing loads, and guarded there.
  // Only strings that could hold an element of a processor are parsed
  // again; raw-text contexts (script, style…), SVG/MathML and Trusted
  // Types values pass as they are.
  var RAW = { SCRIPT: 1, STYLE: 1, TEXTAREA: 1, XMP: 1, NOEMBED: 1, NOFRAMES: 1, IFRAME: 1, TITLE: 1, NOSCRIPT: 1 };
  // Markup with no "//", no backslash (URLs read it as "/", CSS escapes
  // with it), no "http(s):" (a special scheme finds its host without
  // slashes) and no character reference, once the tabs and newlines the
  // URL parser drops are out, names no other host: it cannot reach a
  // processor, unless the page's base URL is one's.
  var ELSEWHERE = /\/\/|\\|&|https?:/i;
  function guardHTML(html, ctx) {
    if (typeof html !== "string" || html.indexOf("<") < 0) return html;
    if (ctx && (RAW[ctx.tagName] || !(ctx instanceof HTMLElement))) return html;
    if (!ELSEWHERE.test(html.replace(/[\t\n\r]+/g, "")) && !classify(d.baseURI)) return html;
    var t = d.createElement("template");
    ih.set.call(t, html);
    if (!t.content.querySelector(SEL)) return html;
    var n = held;
    guardTree(t.content);
    return held > n ? t.innerHTML : html;
  }
  // setter wraps the setter of property prop of o, on the prototype that
  // has it: set(orig, this, v).
  function setter(o, prop, set) {
    var desc;
    while (o && !(desc = Object.getOwnPropertyDescriptor(o, prop))) o = Object.getPrototypeOf(o);
    if (!desc || !desc.set) return desc;
    Object.defineProperty(o, prop, {
      configurable: true, enumerable: desc.enumerable, get: desc.get,
      set: function (v) { return set(desc.set, this, v); }
    });
    return desc;
  }
  var ih = setter(Element.prototype, "innerHTML", function (o, el, v) { o.call(el, el.tagName === "TEMPLATE" ? v : guardHTML(v, el)); });
  setter(Element.prototype, "outerHTML", function (o, el, v) { o.call(el, guardHTML(v, el.parentElement)); });
  var iah = Element.prototype.insertAdjacentHTML;
  Element.prototype.insertAdjacentHTML = function (pos, html) {
    var inside = pos === "afterbegin" || pos === "beforeend";
    return iah.call(this, pos, guardHTML(html, inside ? this : this.parentElement));
  };
  if (w.ShadowRoot) setter(ShadowRoot.prototype, "innerHTML", function (o, el, v) { o.call(el, guardHTML(v, null)); });
  [Element.prototype, w.ShadowRoot && ShadowRoot.prototype].forEach(function (proto) {
    var orig = proto && proto.setHTMLUnsafe;
    if (orig) proto.setHTMLUnsafe = function (html) { return orig.call(this, guardHTML(html, this instanceof Element ? this : null)); };
  });
  if (w.Range && Range.prototype.createContextualFragment) {
    var ccf = Range.prototype.createContextualFragment;
    Range.prototype.createContextualFragment = function (html) { return ccf.call(this, guardHTML(html, null)); };
  }
  // document.write after the page has loaded would replace the whole page
  // (a re-activated LiveInternet counter does it): insert the HTML where
  // the writing script stands instead.
  var dw = d.write, dwl = d.writeln;
  function write(html) {
    var t, at = d.currentScript;
    if (d.readyState === "loading") {
      // While the page loads, written HTML goes to the parser as it is
      // (pieces of a tag may come in separate calls) — unless it holds an
      // element of a processor not consented to: then the parser builds
      // it inside a <template>, where nothing loads, and it is guarded
      // there and moved out in its place.
      if (guardHTML(html) === html) return dw.call(d, html);
      dw.call(d, "<template data-kelisim-write>" + html + "</template>");
      at = d.querySelector("template[data-kelisim-write]");
      if (!at) return;
      t = at.content;
    } else {
      t = d.createElement("template");
      ih.set.call(t, guardHTML(html, null));
      t = t.content;
    }
    // Scripts in written HTML run when written; parsed ones would not.
    var ss = t.querySelectorAll("script");
    for (var i = 0; i < ss.length; i++) {
      var s = d.createElement("script");
      for (var j = 0; j < ss[i].attributes.length; j++) sa.call(s, ss[i].attributes[j].name, ss[i].attributes[j].value);
      s.text = ss[i].text;
      s.async = false;
      ss[i].parentNode.replaceChild(s, ss[i]);
    }
    if (at && at.parentNode) at.parentNode.insertBefore(t, at);
    else if (d.body) d.body.appendChild(t);
    if (at && at.hasAttribute("data-kelisim-write")) at.remove();
  }
  d.write = function () { write([].join.call(arguments, "")); };
  d.writeln = function () { write([].join.call(arguments, "") + "\n"); };
  if (navigator.sendBeacon) {
    var sb = navigator.sendBeacon;
    navigator.sendBeacon = function (u) { arguments[0] = u = str(u); return blocked(u) ? false : sb.apply(navigator, arguments); };
  }
  if (w.fetch) {
    var f = w.fetch;
    w.fetch = function (u) {
      var url = u instanceof Request ? u.url : arguments[0] = str(u);
      return blocked(url) ? Promise.reject(new TypeError("no consent")) : f.apply(w, arguments);
    };
  }
  var xo = XMLHttpRequest.prototype.open, xs = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (m, u) {
    this._kelisimBlocked = !!blocked(arguments[1] = str(u));
    return xo.apply(this, arguments);
  };
  // A blocked request fails as a refused one does, so its caller is not
  // left waiting.
  XMLHttpRequest.prototype.send = function () {
    if (!this._kelisimBlocked) return xs.apply(this, arguments);
    fail(this, ["error", "loadend"]);
  };
  // Cookies: the catalog's names (a trailing * a prefix) of the
  // categories not granted are not written; deleting one always is.
  var CK = /*COOKIES*/["", "", ""].map(function (l) { return l ? l.split(" ") : []; });
  function cookieBlocked(name) {
    var c = 0;
    CK.forEach(function (l, i) {
      l.forEach(function (p) { if (p.slice(-1) === "*" ? name.indexOf(p.slice(0, -1)) === 0 : name === p) c |= 1 << i; });
    });
    return c && !allowed(c);
  }
  setter(Document.prototype, "cookie", function (o, doc, v) {
    v = String(v);
    var ex = /;\s*expires=([^;]*)/i.exec(v);
    if (!cookieBlocked(v.split("=")[0].trim()) || /;\s*max-age=\s*(0|-)/i.test(v) || ex && Date.parse(ex[1]) < Date.now()) o.call(doc, v);
  });
  if (w.cookieStore) {
    var cs = cookieStore.set;
    cookieStore.set = function (n) {
      return cookieBlocked(String(n && n.name || n)) ? Promise.resolve() : cs.apply(cookieStore, arguments);
    };
  }

  // The banner's actions live in a second script, loaded when the visitor
  // first reaches for the banner (pointer, focus or key) or a reopen link,
  // and when the page shows placeholders (kelisim-ui.js).
  var f0 = w.fetch ? f : null, ui;
  function withUI(then, fail) {
    ui = ui || new Promise(function (ok, no) {
      var s = d.createElement("script");
      s.src = P + /*UI*/"";
      if (me && me.nonce) s.nonce = me.nonce;
      s.onload = function () {
        ok(w.kelisimUI({
          P: P, lang: lang, cfg: cfg, sa: sa, moved: MOVED, bits: bits, catNames: catNames, fetch: f0, gcmState: gcmState,
          granted: function () { return granted; }, grant: function (b) { granted = b; }
        }));
      };
      s.onerror = no;
      d.head.appendChild(s);
    });
    return ui.then(then, fail);
  }
  var CONTROLS = "[data-consent-action],a[href='#consent-settings'],[data-consent-reopen]";
  ["pointerdown", "focusin", "keydown"].forEach(function (ev) {
    d.addEventListener(ev, function (e) {
      if (e.target.closest && e.target.closest("[data-consent-banner]," + CONTROLS)) withUI(function () {});
    }, true);
  });
  d.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest(CONTROLS) : null;
    // Without fetch the plain form post and links work.
    if (!t || !f0) return;
    e.preventDefault();
    withUI(function (u) { u.click(t); }, function () {
      // The second script did not load: the form posts, the link goes.
      if (t.form) t.form.requestSubmit ? t.form.requestSubmit(t) : t.form.submit();
      else location.href = P + "settings";
    });
  });
  // In a same-origin frame of a page with the client, the page's banner
  // speaks for the tab: the frame's own stays hidden (kl-sub) and the
  // frame follows the page's choice.
  try {
    var top = w.parent !== w && w.parent.kelisim && w.parent;
    if (top) {
      d.documentElement.classList.add("kl-sub");
      top.addEventListener("kelisim:consent", function (e) { withUI(function (u) { u.decided(e.detail); }); });
    }
  } catch (e) {}
  function placeholders() {
    if (d.querySelector("iframe[data-consent-category][srcdoc]")) withUI(function (u) { u.wireAll(); });
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", placeholders); else placeholders();
  w.kelisim = {
    consent: function () { return catNames(granted).split(" ").filter(Boolean); },
    open: function () { return withUI(function (u) { u.reopen(); }); },
    choose: function (a, f, x, b) { return withUI(function (u) { return u.choose(a, f, x, b); }); }
  };
})();
