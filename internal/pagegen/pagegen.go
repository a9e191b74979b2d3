// Package pagegen generates deterministic HTML pages shaped like real
// company sites — a head full of tags and trackers, navigation, long runs
// of cards, text, images, inline scripts and comments — for benchmarks.
package pagegen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Page returns a page of about size bytes. The same size gives the same
// bytes.
func Page(size int) []byte {
	r := rand.New(rand.NewPCG(uint64(size), 42))
	var b strings.Builder
	b.Grow(size + 4096)
	b.WriteString(`<!DOCTYPE html>
<html lang="kk">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NLG.KZ — жүк тасымалдау, кедендік ресімдеу</title>
<meta name="description" content="Алматыдан Қазақстан бойынша, Ресей мен Қытайға жүк тасымалдау">
<link rel="preconnect" href="https://www.googletagmanager.com">
<link rel="preconnect" href="https://mc.yandex.ru">
<link rel="stylesheet" href="/assets/site.css?v=20240501">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('consent','default',{ad_storage:'denied',analytics_storage:'denied'});</script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-NLGKZ00001"></script>
<script>gtag('js', new Date()); gtag('config', 'G-NLGKZ00001');</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-NLGKZ01');</script>
<script type="text/javascript">(function(m,e,t,r,i,k,a){m[i]=m[i]||function(){(m[i].a=m[i].a||[]).push(arguments)};m[i].l=1*new Date();k=e.createElement(t),a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,a.parentNode.insertBefore(k,a)})(window, document, "script", "https://mc.yandex.ru/metrika/tag.js?id=98765432", "ym");ym(98765432, "init", {clickmap:true, trackLinks:true, accurateTrackBounce:true, webvisor:true});</script>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization","name":"NLG.KZ","url":"https://nlg.kz/","telephone":"+7 727 000 12 34"}</script>
<style>.card{display:flex;gap:1rem}.card img{width:120px;height:80px}.hero{padding:4rem 0}</style>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
</head>
<body class="home">
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-NLGKZ01" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<noscript><div><img src="https://mc.yandex.ru/watch/98765432" style="position:absolute; left:-9999px;" alt=""></div></noscript>
<header class="site-header"><div class="container"><a class="logo" href="/"><img src="/assets/logo.svg" alt="NLG.KZ" width="120" height="32"></a>
<nav aria-label="Негізгі мәзір"><ul class="menu">
<li><a href="/" aria-current="page">Басты бет</a></li><li><a href="/news.html">Жаңалықтар</a></li>
<li><a href="/contacts.html">Байланыс</a></li><li><a href="/privacy.html">Құпиялылық саясаты</a></li>
<li><a href="/ru/" hreflang="ru" lang="ru">RU</a></li></ul></nav></div></header>
<main>
`)
	words := strings.Fields("жүк тасымалдау кедендік ресімдеу қойма Алматы Астана Қытай Ресей контейнер автомобиль теміржол клиент тапсырыс мерзім сапа қызмет бағыт тариф сақтандыру құжат")
	for i := 0; b.Len() < size-2048; i++ {
		switch i % 9 {
		case 0:
			fmt.Fprintf(&b, "<!-- card %d -->\n", i)
		case 4:
			fmt.Fprintf(&b, "<script>document.querySelectorAll('.card-%d .more').forEach(function(a){a.addEventListener('click',function(e){e.preventDefault();a.parentNode.classList.toggle('open')})});</script>\n", i)
		case 7:
			fmt.Fprintf(&b, "<table class=\"tariffs\"><tr><th>Бағыт</th><th>Мерзім</th><th>Баға</th></tr><tr><td>Алматы → Астана</td><td>%d күн</td><td>%d ₸</td></tr></table>\n", 2+r.IntN(5), 10000+r.IntN(90000))
		}
		fmt.Fprintf(&b, `<article class="card card-%d" data-id="%d"><img src="/media/%d.jpg" srcset="/media/%d@2x.jpg 2x" alt="" width="120" height="80" loading="lazy"><div class="card-body"><h3><a href="/news/%d.html">`, i, i, i, i, i)
		for w := 0; w < 4+r.IntN(4); w++ {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		b.WriteString(`</a></h3><p class="lead">`)
		for w := 0; w < 25+r.IntN(30); w++ {
			if w%11 == 10 {
				b.WriteString(`<strong>`)
				b.WriteString(words[r.IntN(len(words))])
				b.WriteString(`</strong> `)
				continue
			}
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, `</p><a class="more" href="/news/%d.html" title="Толығырақ: &laquo;%d&raquo;">Толығырақ &rarr;</a></div></article>`+"\n", i, i)
	}
	b.WriteString(`<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="YouTube video player" frameborder="0" allowfullscreen></iframe>
</main>
<footer class="site-footer"><p>&copy; 2024 «NLG.KZ» ЖШС · <a href="/privacy.html">Құпиялылық саясаты</a> · <a href="#consent-settings">Cookie баптаулары</a></p></footer>
<script src="/assets/site.js" defer></script>
<script src="//code.jivo.ru/widget/AbCdEf1234" async></script>
</body>
</html>
`)
	return []byte(b.String())
}

// Personalised returns page as a CMS sends it to one visitor: a token of
// that request in the head (a CSRF token) and the time it was made before
// </body>. Pages differ from request to request only there.
func Personalised(page []byte, token uint64, at time.Time) []byte {
	head := bytes.Index(page, []byte("<title>"))
	end := bytes.LastIndex(page, []byte("</body>"))
	var b bytes.Buffer
	b.Grow(len(page) + 128)
	b.Write(page[:head])
	fmt.Fprintf(&b, `<meta name="csrf-token" content="%016x">`, token*0x9e3779b97f4a7c15)
	b.Write(page[head:end])
	fmt.Fprintf(&b, "<!-- generated %s -->", at.UTC().Format(time.RFC3339Nano))
	b.Write(page[end:])
	return b.Bytes()
}
