package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/app"
)

// helpBenchArticles is how many published articles the help center
// benchmark's workspace has.
const helpBenchArticles = 1000

// helpWords is the vocabulary of the generated articles; drawn with a Zipf
// distribution, so a few words are in most articles and most in few.
var helpWords = strings.Fields(`account password reset invoice payment billing order shipping delivery return refund
	app install update login email phone message notification settings profile team member role admin agent
	export import report dashboard search filter tag note contact address customer client chat inbox channel
	telegram whatsapp sms template reply signature holiday schedule time zone language currency tax receipt plan
	upgrade downgrade cancel subscription trial card bank transfer paypal security twofactor session device browser
	mobile android iphone tablet desktop windows mac linux sync backup restore delete archive merge duplicate field
	custom workflow automation rule trigger webhook api token integration calendar meeting reminder task deadline
	priority status open closed pending snooze assign transfer queue widget portal help article category feedback
	survey rating review privacy consent gdpr data retention legal hold download upload attachment image file pdf
	size limit error warning problem issue fix solution step guide tutorial video example question answer support
	the a to and of in for on with your you we it is are can how what when where why this that from by at be or`)

// helpBench is a workspace with helpBenchArticles published articles in
// twelve categories, a tenth of them translated into German, generated
// from a fixed seed.
type helpBench struct {
	e     *env
	slugs []string
}

func newHelpBench(b *testing.B) *helpBench {
	b.Helper()
	ctx := context.Background()
	e := setup(b)
	ws := e.workspace("acme")
	db := e.db(ws)
	r := rand.New(rand.NewPCG(2026, 11))
	zipf := rand.NewZipf(r, 1.2, 3, uint64(len(helpWords)-1))
	word := func() string { return helpWords[zipf.Uint64()] }
	words := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = word()
		}
		return strings.Join(w, " ")
	}
	var cats []app.KBCategory
	for i := range 12 {
		c, err := db.CreateKBCategory(ctx, app.KBCategoryInput{Name: fmt.Sprintf("Topic %d %s", i+1, word())}, app.CLIActor)
		if err != nil {
			b.Fatal(err)
		}
		cats = append(cats, c)
	}
	h := &helpBench{e: e}
	start := time.Now()
	for i := range helpBenchArticles {
		in := app.KBArticleInput{Title: capitalise(words(3 + r.IntN(6))), CategoryID: cats[r.IntN(len(cats))].ID,
			BodyMarkdown: helpBody(r, words), Published: true}
		a, err := db.CreateKBArticle(ctx, in, app.CLIActor)
		if err != nil {
			b.Fatal(err)
		}
		h.slugs = append(h.slugs, a.Slug)
		if i%10 == 0 {
			de := app.KBArticleInput{Title: "DE " + in.Title, BodyMarkdown: helpBody(r, words), Locale: "de",
				TranslationOf: a.ID, Published: true}
			if _, err := db.CreateKBArticle(ctx, de, app.CLIActor); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("generated %d articles (and %d translations) in %s", helpBenchArticles, helpBenchArticles/10, time.Since(start).Round(time.Millisecond))
	return h
}

// helpBody is an article of three to six sections of paragraphs and lists.
func helpBody(r *rand.Rand, words func(int) string) string {
	var b strings.Builder
	b.WriteString(capitalise(words(20+r.IntN(40))) + ".\n\n")
	for range 3 + r.IntN(4) {
		b.WriteString("## " + capitalise(words(2+r.IntN(4))) + "\n\n")
		for range 1 + r.IntN(3) {
			b.WriteString(capitalise(words(30+r.IntN(60))) + ". **" + words(2) + "** " + words(10+r.IntN(20)) + ".\n\n")
		}
		if r.IntN(2) == 0 {
			for range 3 + r.IntN(3) {
				b.WriteString("- " + capitalise(words(4+r.IntN(8))) + "\n")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// BenchmarkHelpCenter measures the public help center of a workspace with
// 1,000 published articles over loopback through the real router: an
// article page (article, translations, related, render), search (common
// and rare words, prefixes, two words, no match) and the front page. It
// reports the median and p99 in milliseconds.
func BenchmarkHelpCenter(b *testing.B) {
	h := newHelpBench(b)
	br := h.e.browser()
	b.Run("ArticlePage", func(b *testing.B) {
		paths := make([]string, len(h.slugs))
		for i, s := range h.slugs {
			paths[i] = "/help/articles/" + s
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
		benchHelp(b, br, paths)
	})
	b.Run("Search", func(b *testing.B) {
		benchHelp(b, br, []string{"/help/search?q=password", "/help/search?q=invoice+payment", "/help/search?q=inst",
			"/help/search?q=the", "/help/search?q=webhook+gdpr", "/help/search?q=zebra", "/help/search?q=acc",
			"/help/search?q=refund&page=2", "/help/search?q=export+data&locale=de"})
	})
	b.Run("HomePage", func(b *testing.B) {
		benchHelp(b, br, []string{"/help", "/help?locale=de"})
	})
}

func benchHelp(b *testing.B, br *browser, paths []string) {
	b.Helper()
	durations := make([]time.Duration, 0, b.N)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		path := paths[i%len(paths)]
		i++
		start := time.Now()
		res := br.get("acme", path)
		durations = append(durations, time.Since(start))
		if res.Status != http.StatusOK {
			b.Fatalf("%s: got %d", path, res.Status)
		}
	}
	reportMillis(b, durations)
}

// reportMillis adds p50 and p99 in milliseconds to the benchmark output.
func reportMillis(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	b.ReportMetric(ms(d[len(d)/2]), "p50-ms")
	b.ReportMetric(ms(d[len(d)*99/100]), "p99-ms")
}
