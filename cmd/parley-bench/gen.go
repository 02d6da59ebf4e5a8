package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"parley/app"
	"parley/tenantdb"
)

// The gen part: a data directory made through Parley's own storage code
// (tenantdb.Provision, CreateUser, CreateToken, GenerateClients,
// GenerateChats, CreateKBArticle), reproducible from the seed: many small
// tenants and one large one, whose file is tenantdb.ChatFixture (cached in
// .cache/bench, as the Go benchmarks use it) installed under a tenant
// provisioned in this directory's control DB.

// genOptions configures gen.
type genOptions struct {
	Data string
	// Cache holds the fixtures (.cache/bench).
	Cache string
	Seed  int64
	// Tenants small tenants of Clients clients each; every ChatsEvery-th
	// of them also gets chats (0: none).
	Tenants, Clients, ChatsEvery int
	// Large is the large tenant's client count (ChatFixture size).
	Large int
	// Articles is how many published help center articles the large
	// tenant gets.
	Articles int
	Workers  int
}

// benchPassword is every generated admin's password (the fixture's own).
const benchPassword = tenantdb.ClientFixturePassword

// largeSlug is the large tenant's workspace.
const largeSlug = "large"

func runGen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	o := genOptions{Cache: filepath.Join(".cache", "bench"), Workers: 2}
	quick := fs.Bool("quick", false, "50 small tenants and a 5,000-client large tenant")
	fs.StringVar(&o.Data, "data", "", "data directory to (re)make (default .cache/bench/data, quick: .cache/bench/quick/data)")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of every generator")
	fs.IntVar(&o.Tenants, "tenants", 0, "small tenants (default 1000, quick 50)")
	fs.IntVar(&o.Clients, "clients", 100, "clients per small tenant")
	fs.IntVar(&o.ChatsEvery, "chats-every", 10, "give every n-th small tenant chats too (0: none)")
	fs.IntVar(&o.Large, "large", 0, "clients of the large tenant (default 100000, quick 5000)")
	fs.IntVar(&o.Articles, "articles", 200, "published help center articles of the large tenant")
	fs.IntVar(&o.Workers, "workers", 8, "small tenants made at once (the work waits on the disk more than the CPU)")
	fs.StringVar(new(string), "out", "", "ignored (all passes it to every part)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Data, _ = benchDirs(o.Data, "", *quick)
	if o.Tenants == 0 {
		o.Tenants = pick(*quick, 50, 1000)
	}
	if o.Large == 0 {
		o.Large = pick(*quick, 5000, 100_000)
	}
	_, err := generate(ctx, o, os.Stderr)
	return err
}

// generate makes o.Data from scratch and writes its manifest.
func generate(ctx context.Context, o genOptions, log io.Writer) (*Manifest, error) {
	if err := cleanDataDir(o.Data); err != nil {
		return nil, err
	}
	m := &Manifest{Seed: o.Seed, BaseDomain: defaultBaseDomain, Sizes: map[string]int64{}}
	step := func(name string, fn func() error) error {
		fmt.Fprintf(log, "gen: %s…\n", name)
		start := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		d := time.Since(start)
		m.Steps = append(m.Steps, GenStep{Name: name, Seconds: d.Seconds()})
		fmt.Fprintf(log, "gen: %s took %s\n", name, d.Round(time.Millisecond))
		return nil
	}
	var fixture string
	err := step(fmt.Sprintf("large tenant fixture: %d clients with chats (cached in %s)", o.Large, o.Cache), func() (err error) {
		fixture, err = tenantdb.ChatFixture(ctx, o.Cache, o.Large, o.Seed, log)
		return err
	})
	if err != nil {
		return nil, err
	}
	control, err := tenantdb.OpenControl(ctx, filepath.Join(o.Data, "control.db"), nil)
	if err != nil {
		return nil, err
	}
	defer control.Close()
	// Few tenants stay open: each is written once, then left alone.
	mgr := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(o.Data, "tenants"), MaxOpen: 8, ReadConns: 1})
	defer mgr.Close(context.WithoutCancel(ctx))
	g := &generator{o: o, control: control, mgr: mgr}
	err = step(fmt.Sprintf("%d small tenants of %d clients (chats in every %d-th)", o.Tenants, o.Clients, o.ChatsEvery), func() (err error) {
		m.Small, err = g.smallTenants(ctx, log)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = step("large tenant: provision, install the fixture file, token", func() (err error) {
		m.Large, err = g.largeTenant(ctx, fixture)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = step(fmt.Sprintf("large tenant: %d published help center articles", o.Articles), func() error {
		return g.articles(ctx, &m.Large)
	})
	if err != nil {
		return nil, err
	}
	err = step("large tenant: sample ids and search terms", func() error { return g.sampleLarge(ctx, m) })
	if err != nil {
		return nil, err
	}
	if err := mgr.Close(ctx); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(mgr.TenantPath(m.Large.ID)); err == nil {
		m.Sizes["large tenant file bytes"] = fi.Size()
	}
	return m, writeManifest(o.Data, m)
}

// cleanDataDir empties dir for a new data set; it refuses a directory that
// holds anything but a previous gen's output.
func cleanDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o750)
	} else if err != nil {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, manifestFile)); err != nil {
			if _, cerr := os.Stat(filepath.Join(dir, "control.db")); cerr != nil {
				return fmt.Errorf("%s is not empty and holds no generated data: choose another --data", dir)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o750)
}

// generator holds what the steps of gen share.
type generator struct {
	o       genOptions
	control *tenantdb.Control
	mgr     *tenantdb.Manager
}

// smallTenants provisions the small tenants, o.Workers at a time.
func (g *generator) smallTenants(ctx context.Context, log io.Writer) ([]TenantInfo, error) {
	out := make([]TenantInfo, g.o.Tenants)
	start := time.Now()
	var done atomic.Int64
	err := inParallel(ctx, g.o.Workers, g.o.Tenants, func(i int) error {
		t, err := g.smallTenant(ctx, i)
		if err != nil {
			return fmt.Errorf("small tenant %d: %w", i+1, err)
		}
		out[i] = t
		if n := done.Add(1); n%int64(max(1, g.o.Tenants/10)) == 0 {
			fmt.Fprintf(log, "gen: %d/%d small tenants, %s\n", n, g.o.Tenants, time.Since(start).Round(time.Second))
		}
		return nil
	})
	return out, err
}

// smallTenant provisions small tenant i as sign-up does, with an admin API
// token and clients (and chats for every ChatsEvery-th).
func (g *generator) smallTenant(ctx context.Context, i int) (TenantInfo, error) {
	slug := fmt.Sprintf("small%04d", i+1)
	t := TenantInfo{Slug: slug, AdminEmail: "admin@" + slug + ".example", Password: benchPassword}
	ws, err := tenantdb.Provision(ctx, g.control, g.mgr, tenantdb.NewWorkspace{Slug: slug, Name: fmt.Sprintf("Small %d", i+1),
		AdminName: "Admin " + slug, AdminEmail: t.AdminEmail, AdminPassword: t.Password}, app.CLIActor)
	if err != nil {
		return t, err
	}
	t.ID = ws.Tenant.ID
	db, release, err := g.mgr.Acquire(ctx, t.ID)
	if err != nil {
		return t, err
	}
	defer release()
	if t.Token, err = adminToken(ctx, db); err != nil {
		return t, err
	}
	seed := g.o.Seed*1_000_003 + int64(i)
	if err := tenantdb.GenerateClients(ctx, db, g.o.Clients, seed, nil); err != nil {
		return t, err
	}
	if g.o.ChatsEvery > 0 && i%g.o.ChatsEvery == 0 {
		if err := tenantdb.GenerateChats(ctx, db, seed, nil); err != nil {
			return t, err
		}
	}
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	_, err = sampleTenant(ctx, db, &t, r, g.o.Clients, g.o.Clients)
	return t, err
}

// adminToken creates an admin API token as `parley token create` does.
func adminToken(ctx context.Context, db *tenantdb.DB) (string, error) {
	_, secret, err := db.CreateToken(ctx, app.NewAPIToken{Name: "parley-bench", Role: app.RoleAdmin}, app.CLIActor)
	return secret, err
}

// largeTenant provisions the large tenant and installs the fixture file as
// its file: the control DB knows the tenant (id, slug), the file holds its
// users (admin@bench.example and four agents), clients and chats.
func (g *generator) largeTenant(ctx context.Context, fixture string) (TenantInfo, error) {
	t := TenantInfo{Slug: largeSlug, AdminEmail: "admin@bench.example", Password: tenantdb.ClientFixturePassword}
	ws, err := tenantdb.Provision(ctx, g.control, g.mgr, tenantdb.NewWorkspace{Slug: largeSlug, Name: "Large",
		AdminName: "Ada Admin", AdminEmail: t.AdminEmail, AdminPassword: t.Password}, app.CLIActor)
	if err != nil {
		return t, err
	}
	t.ID = ws.Tenant.ID
	if err := g.mgr.Forget(t.ID); err != nil {
		return t, err
	}
	file := g.mgr.TenantPath(t.ID)
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(file + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return t, err
		}
	}
	if err := copyFile(fixture, file); err != nil {
		return t, err
	}
	db, release, err := g.mgr.Acquire(ctx, t.ID)
	if err != nil {
		return t, err
	}
	defer release()
	t.Token, err = adminToken(ctx, db)
	return t, err
}

// copyFile copies a closed SQLite file (no -wal) whole.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// helpWords make the generated articles; drawn with a Zipf distribution,
// so a few words are in most articles and most in few.
var helpWords = strings.Fields(`account password reset invoice payment billing order shipping delivery return refund
	app install update login email phone message notification settings profile team member role admin agent
	export import report dashboard search filter tag note contact address customer client chat inbox channel
	telegram whatsapp sms template reply signature holiday schedule time zone language currency tax receipt plan
	upgrade downgrade cancel subscription trial card bank transfer paypal security twofactor session device browser
	mobile android iphone tablet desktop windows mac linux sync backup restore delete archive merge duplicate field
	the a to and of in for on with your you we it is are can how what when where why this that from by at be or`)

// articles publishes o.Articles help center articles in eight categories.
func (g *generator) articles(ctx context.Context, t *TenantInfo) error {
	db, release, err := g.mgr.Acquire(ctx, t.ID)
	if err != nil {
		return err
	}
	defer release()
	r := rand.New(rand.NewPCG(uint64(g.o.Seed), 11))
	zipf := rand.NewZipf(r, 1.2, 3, uint64(len(helpWords)-1))
	words := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = helpWords[zipf.Uint64()]
		}
		return strings.Join(w, " ")
	}
	var cats []app.KBCategory
	var titles []string
	for i := range 8 {
		c, err := db.CreateKBCategory(ctx, app.KBCategoryInput{Name: fmt.Sprintf("Topic %d", i+1)}, app.CLIActor)
		if err != nil {
			return err
		}
		cats = append(cats, c)
	}
	for range g.o.Articles {
		var body strings.Builder
		body.WriteString(capitalise(words(30)) + ".\n\n")
		for range 3 + r.IntN(3) {
			fmt.Fprintf(&body, "## %s\n\n%s. **%s** %s.\n\n- %s\n- %s\n\n", capitalise(words(3)), capitalise(words(50+r.IntN(40))),
				words(2), words(15), capitalise(words(6)), capitalise(words(6)))
		}
		title := capitalise(words(3 + r.IntN(5)))
		a, err := db.CreateKBArticle(ctx, app.KBArticleInput{Title: title, BodyMarkdown: body.String(),
			CategoryID: cats[r.IntN(len(cats))].ID, Published: true}, app.CLIActor)
		if err != nil {
			return err
		}
		t.Articles = append(t.Articles, a.Slug)
		titles = append(titles, title)
	}
	t.KBQueries = kbQueries(titles)
	return nil
}

// kbQueries are help center searches that find something: the commonest
// longer title words, a prefix of the first, and two words of one title.
func kbQueries(titles []string) []string {
	count := map[string]int{}
	for _, t := range titles {
		for _, w := range strings.Fields(strings.ToLower(t)) {
			if len(w) >= 5 {
				count[w]++
			}
		}
	}
	words := slices.Collect(maps.Keys(count))
	slices.SortFunc(words, func(a, b string) int { return cmp.Or(count[b]-count[a], strings.Compare(a, b)) })
	q := words[:min(4, len(words))]
	if len(q) > 0 {
		q = append(q, q[0][:3])
	}
	for _, t := range titles {
		var long []string
		for _, w := range strings.Fields(strings.ToLower(t)) {
			if len(w) >= 5 {
				long = append(long, w)
			}
		}
		if len(long) >= 2 {
			return append(q, long[0]+" "+long[1])
		}
	}
	return q
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sampleLarge fills in the large tenant's samples and the data sizes.
func (g *generator) sampleLarge(ctx context.Context, m *Manifest) error {
	db, release, err := g.mgr.Acquire(ctx, m.Large.ID)
	if err != nil {
		return err
	}
	defer release()
	r := rand.New(rand.NewPCG(uint64(g.o.Seed), 13))
	n, err := sampleTenant(ctx, db, &m.Large, r, 2000, 2000)
	if err != nil {
		return err
	}
	m.Sizes["large tenant clients"] = int64(n.Clients)
	m.Sizes["large tenant chats"] = int64(n.Chats)
	m.Sizes["large tenant messages"] = int64(n.Messages)
	m.Sizes["large tenant articles"] = int64(len(m.Large.Articles))
	m.Sizes["small tenants"] = int64(len(m.Small))
	m.Sizes["clients per small tenant"] = int64(g.o.Clients)
	if g.o.ChatsEvery > 0 {
		m.Sizes["small tenants with chats"] = int64((len(m.Small) + g.o.ChatsEvery - 1) / g.o.ChatsEvery)
	}
	return nil
}

// tenantCounts is what a tenant holds, as its lists count it.
type tenantCounts struct{ Clients, Chats, Messages int }

// sampleTenant picks up to nClients client ids and nChats chat ids spread
// over the whole tenant (every page is read, the pick is seeded), and
// search terms that each find something.
func sampleTenant(ctx context.Context, db *tenantdb.DB, t *TenantInfo, r *rand.Rand, nClients, nChats int) (tenantCounts, error) {
	var n tenantCounts
	var clients []string
	for cursor := ""; ; {
		page, err := db.SearchClients(ctx, app.ClientFilter{Sort: app.SortCreated, Limit: 200, Cursor: cursor})
		if err != nil {
			return n, err
		}
		for _, h := range page.Hits {
			clients = append(clients, h.Client.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	var chats []string
	n.Clients = len(clients)
	for cursor := ""; ; {
		page, err := db.ListChats(ctx, app.ChatFilter{Limit: 200, Cursor: cursor}, app.ChatScope{All: true})
		if err != nil {
			return n, err
		}
		for _, c := range page.Chats {
			chats = append(chats, c.ID)
			n.Messages += c.MessageCount
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	n.Chats = len(chats)
	t.Clients = sample(r, clients, nClients)
	t.Chats = sample(r, chats, nChats)
	return n, searchTerms(ctx, db, t)
}

// sample returns n of ids (all if fewer), chosen by r, in a shuffled order.
func sample(r *rand.Rand, ids []string, n int) []string {
	s := slices.Clone(ids)
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s[:min(n, len(s))]
}

// searchTerms takes name prefixes, phone fragments and note words from the
// first sampled clients, keeping each only if the client search finds it.
func searchTerms(ctx context.Context, db *tenantdb.DB, t *TenantInfo) error {
	seen := map[string]bool{}
	finds := func(q string) (bool, error) {
		if seen[q] {
			return false, nil
		}
		seen[q] = true
		page, err := db.SearchClients(ctx, app.ClientFilter{Query: q, Limit: 1})
		return err == nil && len(page.Hits) > 0, err
	}
	add := func(list *[]string, q string) error {
		if len(*list) >= 8 || len([]rune(q)) < 3 {
			return nil
		}
		ok, err := finds(q)
		if ok {
			*list = append(*list, q)
		}
		return err
	}
	for _, id := range t.Clients[:min(len(t.Clients), 200)] {
		p, err := db.ClientProfile(ctx, id)
		if err != nil {
			return err
		}
		if err := add(&t.NamePrefixes, strings.ToLower(string([]rune(p.Client.LastName)[:min(3, len([]rune(p.Client.LastName)))]))); err != nil {
			return err
		}
		for _, c := range p.Contacts {
			if digits := onlyDigits(c.Value); c.Type == app.ContactPhone && len(digits) >= 8 {
				if err := add(&t.PhoneFragments, digits[len(digits)-6:len(digits)-2]); err != nil {
					return err
				}
			}
		}
		for _, n := range p.Notes {
			for _, w := range strings.FieldsFunc(n.Body, func(c rune) bool { return !unicode.IsLetter(c) }) {
				if len(w) >= 7 {
					if err := add(&t.Words, strings.ToLower(w)); err != nil {
						return err
					}
					break
				}
			}
		}
	}
	if len(t.NamePrefixes) == 0 || len(t.PhoneFragments) == 0 || len(t.Words) == 0 {
		return fmt.Errorf("%s: found too few search terms (%d names, %d phones, %d words)", t.Slug,
			len(t.NamePrefixes), len(t.PhoneFragments), len(t.Words))
	}
	return nil
}

func onlyDigits(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= '0' && c <= '9' {
			return c
		}
		return -1
	}, s)
}
