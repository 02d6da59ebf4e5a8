package tenantdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"parley/app"
)

// clientGenVersion changes whenever GenerateClients makes different data for
// the same seed, so that files cached by an older generator are not reused.
const clientGenVersion = 3

// The generated clients were created over these three years, in order.
var (
	clientGenFrom = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	clientGenTo   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// GenerateClients adds n made-up clients to db, for benchmarks and demos:
// mixed names (some with diacritics), 2–3 contacts each (a unique email, a
// unique valid phone, sometimes a WhatsApp number, a work phone or a
// Telegram handle), tags, 1–4 notes, a status and, for some, a birth date
// and an address. The same n and seed give the same data except for ids,
// which are ULIDs. Creation times spread over 2023–2025 in order; each
// client's last activity is its newest note.
//
// Clients are checked and written by the same statements as CreateClient
// and AddNote, with the same events. Owners and note authors are db's
// active users, if it has any. progress, if not nil, gets a line every
// tenth of the way.
func GenerateClients(ctx context.Context, db *DB, n int, seed int64, progress io.Writer) error {
	return generateClients(ctx, db, n, seed, progress, (*DB).writeGenBatch)
}

// ClientFixturePassword is the password of every user in a ClientFixture file.
const ClientFixturePassword = "correct horse battery"

// ClientFixture returns the path of a closed tenant file holding n clients
// made by GenerateClients from seed, owned by users admin@bench.example (an
// admin) and agent1…agent4@bench.example, whose password is
// ClientFixturePassword. Building 100,000 clients takes minutes, so the file
// is built once into cacheDir under a name made of n, seed, a hash of the
// tenant migrations and the generator's version, and found there after.
//
// Copy the file before opening it, so that no run changes the cache: it is
// checkpointed and has no -wal file, so a plain copy is the whole database.
// Any tenant id works; the manager opens the file found at TenantPath(id).
func ClientFixture(ctx context.Context, cacheDir string, n int, seed int64, progress io.Writer) (string, error) {
	schema, err := schemaKey()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cacheDir, fmt.Sprintf("clients-%d-seed%d-schema%s-gen%d.db", n, seed, schema, clientGenVersion))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(cacheDir, 0o750); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	built, err := buildClientFixture(ctx, tmp, n, seed, progress)
	if err != nil {
		return "", fmt.Errorf("build client fixture: %w", err)
	}
	// The rename is atomic: a run building the same file at the same time
	// replaces a whole file with another whole file of the same data.
	return path, os.Rename(built, path)
}

// buildClientFixture provisions a tenant under dir as sign-up does, fills
// it and closes it, returning its file.
func buildClientFixture(ctx context.Context, dir string, n int, seed int64, progress io.Writer) (string, error) {
	control, err := OpenControl(ctx, filepath.Join(dir, "control.db"), nil)
	if err != nil {
		return "", err
	}
	defer control.Close()
	// A large page cache makes building faster; benchmarks open the copy
	// with the default.
	m := NewManager(ManagerConfig{Dir: filepath.Join(dir, "tenants"), CacheKiB: 256 << 10, ReadConns: 1})
	defer m.Close(ctx)
	ws, err := Provision(ctx, control, m, NewWorkspace{Slug: "bench", Name: "Bench", AdminName: "Ada Admin",
		AdminEmail: "admin@bench.example", AdminPassword: ClientFixturePassword}, app.CLIActor)
	if err != nil {
		return "", err
	}
	db, release, err := m.Acquire(ctx, ws.Tenant.ID)
	if err != nil {
		return "", err
	}
	err = func() error {
		defer release()
		for i, name := range []string{"Ben Agent", "Cleo Agent", "Dev Agent", "Eun-ji Agent"} {
			if _, err := db.CreateUser(ctx, app.NewUser{Email: fmt.Sprintf("agent%d@bench.example", i+1), Name: name,
				Password: ClientFixturePassword, Role: app.RoleAgent}, app.CLIActor); err != nil {
				return err
			}
		}
		return GenerateClients(ctx, db, n, seed, progress)
	}()
	if err != nil {
		return "", err
	}
	file := m.TenantPath(ws.Tenant.ID)
	if err := m.Close(ctx); err != nil {
		return "", err
	}
	if _, err := os.Stat(file + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s-wal is still there after closing the tenant", file)
	}
	return file, nil
}

// genBatchSize is how many generated clients share a transaction.
const genBatchSize = 500

// generateClients draws n clients from seed and has write store them, a
// batch at a time, through a copy of db whose clock is the generator's.
func generateClients(ctx context.Context, db *DB, n int, seed int64, progress io.Writer,
	write func(*DB, context.Context, *clientGen, []genClient) error) error {
	users, err := db.ListUsers(ctx)
	if err != nil {
		return err
	}
	g := newClientGen(seed, n)
	for _, u := range users {
		if u.Status == app.UserActive {
			g.users = append(g.users, u)
		}
	}
	// The copy shares the handle's pools but not its clock, which says when
	// each generated client and note was written.
	w := *db
	w.now = func() time.Time { return g.at }
	start, reported := time.Now(), 0
	batch := make([]genClient, 0, genBatchSize)
	for i := 0; i < n; {
		batch = batch[:0]
		for ; i < n && len(batch) < genBatchSize; i++ {
			batch = append(batch, g.next(i))
		}
		if err := write(&w, ctx, g, batch); err != nil {
			return fmt.Errorf("generated clients up to %d: %w", i, err)
		}
		if progress != nil && (i-reported >= n/10 || i == n) {
			reported = i
			fmt.Fprintf(progress, "clientgen: %d/%d clients, %s\n", i, n, time.Since(start).Round(time.Second))
		}
	}
	return nil
}

// genClient is one generated client with its notes.
type genClient struct {
	in     app.ClientInput
	actor  app.Actor // who created it and wrote its notes
	at     time.Time // created
	notes  []app.NoteInput
	noteAt []time.Time
}

// writeGenClients writes each client the way the app does: CreateClient,
// then AddNote for each note. It is the model writeGenBatch must match,
// and too slow for 100,000 clients (several transactions each).
func (db *DB) writeGenClients(ctx context.Context, g *clientGen, batch []genClient) error {
	for _, c := range batch {
		g.at = c.at
		created, err := db.CreateClient(ctx, c.in, c.actor)
		if err != nil {
			return err
		}
		for i, n := range c.notes {
			g.at = c.noteAt[i]
			if _, err := db.AddNote(ctx, created.ID, n, c.actor); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeGenBatch writes a batch of clients in one transaction through the
// same insertClient and insertNote as CreateClient and AddNote. The one
// difference: a client's search row is written once, after its notes,
// instead of after each; it ends the same.
func (db *DB) writeGenBatch(ctx context.Context, g *clientGen, batch []genClient) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		country, err := defaultCountry(ctx, tx)
		if err != nil {
			return err
		}
		for _, c := range batch {
			g.at = c.at
			created, err := db.insertClient(ctx, tx, c.in, country, true, c.actor)
			if err != nil {
				return fmt.Errorf("%s %s: %w", c.in.FirstName, c.in.LastName, err)
			}
			for i, in := range c.notes {
				g.at = c.noteAt[i]
				if err := in.Normalize(); err != nil {
					return err
				}
				if _, err := db.insertNote(ctx, tx, created.ID, in, c.actor); err != nil {
					return err
				}
			}
			if err := refreshClientSearch(ctx, tx, created.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// clientGen draws clients from a seeded source. It is not safe for
// concurrent use.
type clientGen struct {
	r       *rand.Rand
	n       int
	users   []*app.User
	emails  map[string]bool
	phones  map[string]bool
	handles map[string]bool
	at      time.Time // the generating handle's clock
	nouns   *rand.Zipf
}

func newClientGen(seed int64, n int) *clientGen {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	return &clientGen{r: r, n: n, emails: map[string]bool{}, phones: map[string]bool{}, handles: map[string]bool{},
		nouns: rand.NewZipf(r, 1.1, 4, uint64(len(genNouns)-1))}
}

// pick returns an element of list, the earlier ones more often, the way a
// few names are common and most are rare.
func pick[T any](r *rand.Rand, list []T) T {
	return list[int(float64(len(list))*r.Float64()*r.Float64())]
}

func (g *clientGen) chance(p float64) bool { return g.r.Float64() < p }

// next draws client i of n.
func (g *clientGen) next(i int) genClient {
	r := g.r
	span := clientGenTo.Sub(clientGenFrom)
	c := genClient{actor: app.CLIActor,
		at: clientGenFrom.Add(time.Duration(float64(span) * (float64(i) + r.Float64()) / float64(g.n))).Truncate(time.Millisecond)}
	in := &c.in
	in.FirstName, in.LastName = pick(r, genFirstNames), pick(r, genLastNames)
	if g.chance(0.08) {
		in.MiddleName = pick(r, genFirstNames)
	}
	in.Status = pick(r, []app.ClientStatus{app.ClientActive, app.ClientLead, app.ClientInactive, app.ClientArchived})
	if g.chance(0.7) {
		in.Gender = app.Genders[r.IntN(len(app.Genders))]
	}
	if g.chance(0.55) {
		in.BirthDate = time.Date(1940+r.IntN(67), time.January, 1+r.IntN(365), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	for _, t := range genTags {
		if g.chance(t.p) {
			in.Tags = append(in.Tags, t.tag)
		}
	}
	if len(g.users) > 0 && g.chance(0.75) {
		u := g.users[r.IntN(len(g.users))]
		in.OwnerID, c.actor = u.ID, app.UserActor(u)
	}
	country := g.country()
	if g.chance(0.4) {
		in.Preferences = genPrefs[country]
		if g.chance(0.5) {
			in.Preferences.Channel = string(app.Transports[r.IntN(len(app.Transports))])
		}
	}
	in.Contacts = g.contacts(in.FirstName, in.LastName, country)
	if g.chance(0.4) {
		in.Addresses = []app.AddressInput{g.address(country)}
	}
	at := c.at
	for range 1 + r.IntN(4) {
		at = at.Add(time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Millisecond)
		c.notes = append(c.notes, g.note())
		c.noteAt = append(c.noteAt, at)
	}
	return c
}

func (g *clientGen) country() string {
	switch x := g.r.IntN(10); {
	case x < 4:
		return "GB"
	case x < 7:
		return "US"
	case x < 9:
		return "DE"
	default:
		return "FR"
	}
}

// contacts returns an email and a phone, and sometimes a third contact.
func (g *clientGen) contacts(first, last, country string) []app.ContactInput {
	out := []app.ContactInput{
		{Type: app.ContactEmail, Value: g.email(first, last), Label: pick(g.r, []string{"", "personal", "work"})},
		{Type: app.ContactPhone, Value: g.phone(country), Label: pick(g.r, []string{"mobile", ""})},
	}
	switch x := g.r.Float64(); {
	case x < 0.35:
		out = append(out, app.ContactInput{Type: app.ContactWhatsApp, Value: out[1].Value})
	case x < 0.5:
		out = append(out, app.ContactInput{Type: app.ContactPhone, Value: g.phone(country), Label: "work"})
	case x < 0.6:
		out = append(out, app.ContactInput{Type: app.ContactTelegram,
			Value: "@" + g.unique(g.handles, asciiFold(first)+"_"+asciiFold(last), "")})
	}
	return out
}

// unique returns base+suffix+rest, new in seen: no suffix the first time,
// then a number.
func (g *clientGen) unique(seen map[string]bool, base, rest string) string {
	s := base + rest
	for seen[s] {
		s = base + strconv.Itoa(1+g.r.IntN(999)) + rest
	}
	seen[s] = true
	return s
}

func (g *clientGen) email(first, last string) string {
	local := asciiFold(first) + "." + asciiFold(last)
	if g.chance(0.3) {
		local = asciiFold(first)[:1] + asciiFold(last)
	}
	return g.unique(g.emails, local, "@"+pick(g.r, genEmailDomains))
}

// phone returns a new valid mobile number of country, typed the way people
// do, with spaces. Every number passes app.NormalizePhone.
func (g *clientGen) phone(country string) string {
	for {
		d := func(n int) string {
			var b strings.Builder
			for range n {
				b.WriteByte(byte('0' + g.r.IntN(10)))
			}
			return b.String()
		}
		var s string
		switch country {
		case "GB": // 07911 and 07400 mobiles; the 07700 900 drama range is not valid
			s = "+44 " + pick(g.r, []string{"7911", "7400", "7480", "7520"}) + " " + d(6)
		case "US": // exchanges start 2–9; 555 is avoided
			s = "+1 " + pick(g.r, []string{"212", "415", "646", "312"}) + " " + strconv.Itoa(2+g.r.IntN(8)) + d(2) + " " + d(4)
		case "DE":
			s = "+49 " + pick(g.r, []string{"151", "160", "170", "176"}) + " " + d(8)
		default:
			s = "+33 " + pick(g.r, []string{"6", "7"}) + " " + d(2) + " " + d(2) + " " + d(2) + " " + d(2)
		}
		e164, err := app.NormalizePhone(s, "")
		if err != nil || g.phones[e164] {
			continue
		}
		g.phones[e164] = true
		return s
	}
}

func (g *clientGen) address(country string) app.AddressInput {
	a := pick(g.r, genAddresses[country])
	a.Type = pick(g.r, []app.AddressType{app.AddressShipping, app.AddressBilling})
	a.Street = strconv.Itoa(1+g.r.IntN(180)) + " " + a.Street
	a.Country, a.IsDefault = country, true
	return a
}

// note writes one to three sentences from the templates, their blanks
// filled with nouns of a Zipf distribution, so that a few words are in
// many notes and most in few.
func (g *clientGen) note() app.NoteInput {
	var b strings.Builder
	for i := range 1 + g.r.IntN(3) {
		if i > 0 {
			b.WriteByte(' ')
		}
		parts := strings.Split(genNoteTemplates[g.r.IntN(len(genNoteTemplates))], "_")
		b.WriteString(parts[0])
		for _, p := range parts[1:] {
			b.WriteString(genNouns[g.nouns.Uint64()])
			b.WriteString(p)
		}
	}
	return app.NoteInput{Type: pick(g.r, app.NoteTypes), Body: b.String(), Pinned: g.chance(0.05)}
}

// asciiFold lower-cases s and spells it in ASCII letters and digits, for
// email addresses and handles.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if f, ok := genFold[r]; ok {
				b.WriteString(f)
			}
		}
	}
	return b.String()
}

// The generator's vocabulary. Earlier names are drawn more often.
var (
	genFirstNames = []string{
		"Anna", "James", "Maria", "Mohamed", "Sarah", "David", "Laura", "Michael", "Emma", "Thomas",
		"Sophie", "Daniel", "Julia", "Peter", "Olivia", "Martin", "Hannah", "Paul", "Lena", "Mark",
		"Marta", "Jan", "Sofia", "Ali", "Chloé", "José", "Zoë", "Łukasz", "Jürgen", "Søren",
		"Anne", "Annika", "Antoine", "Antonio", "Mario", "Marek", "Martina", "Marcus", "Margaret", "Marie",
		"Mariam", "Matteo", "Matthew", "Max", "Maximilian", "Mia", "Michał", "Mila", "Miriam", "Muhammad",
		"Nadia", "Natalia", "Nathan", "Nina", "Noah", "Nora", "Oliver", "Oscar", "Paula", "Paweł",
		"Petra", "Pierre", "Rachel", "Rafael", "Rebecca", "Richard", "Robert", "Rosa", "Ruth", "Ryan",
		"Sara", "Sebastian", "Simon", "Stefan", "Susan", "Tomasz", "Tobias", "Victoria", "Viktor", "William",
		"Yusuf", "Zofia", "Jörg", "Björn", "Åsa", "Hélène", "Renée", "Agnès", "François", "Inês",
		"João", "Małgorzata", "Dorota", "Ewa", "Krzysztof", "Agnieszka", "Bartosz", "Elena", "Elif", "Emre",
		"Ayşe", "Mehmet", "Fatma", "Ahmet", "Aisha", "Amir", "Leila", "Hana", "Yuki", "Kenji",
		"Mei", "Wei", "Priya", "Raj", "Arjun", "Ananya", "Sven", "Lars", "Ingrid", "Astrid",
		"Freya", "Erik", "Emil", "Ella", "Eva", "Ethan", "Daniela", "Diana", "Dmitri", "Olga",
		"Irina", "Ivan", "Sergei", "Tatiana", "Alexander", "Alexandra", "Alice", "Amelia", "Andrea", "Andreas",
		"Andrew", "Ben", "Benjamin", "Carla", "Carlos", "Caroline", "Charlotte", "Chris", "Claire", "Clara",
		"Julian", "Julien", "Jakub", "Jana", "Jennifer", "Jessica", "John", "Jonas", "Lea", "Leon",
		"Liam", "Linda", "Lucas", "Lucía", "Luis", "Luisa", "Isabel", "Isabella", "Hugo", "Helen",
		"Georg", "George", "Grace", "Felix", "Fiona", "Frank", "Gabriel", "Giulia", "Kevin", "Karin",
		"Katarzyna", "Kate", "Beatriz", "Nuno", "Sérgio", "Ramón", "Ángel", "Núria", "Íñigo", "Gökhan",
		"Çağla", "Şule", "Ümit", "Zoé", "Noémie", "Anaïs", "Jiří", "Tereza", "Dóra", "Bálint",
	}
	genLastNames = []string{
		"Smith", "Müller", "Garcia", "Nowak", "Jones", "Schmidt", "Kowalska", "Martin", "Rossi", "Patel",
		"Williams", "Brown", "Taylor", "Davies", "Evans", "Wilson", "Johnson", "Roberts", "Walker", "Wright",
		"Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Lewis",
		"Jackson", "Clarke", "Turner", "Hill", "Scott", "Cooper", "Morris", "Ward", "Moore", "King",
		"Watson", "Baker", "Harrison", "Morgan", "Young", "Allen", "Mitchell", "Anderson", "Phillips", "Lee",
		"Bell", "Parker", "Davis", "Miller", "Rodriguez", "Martinez", "Hernández", "López", "González", "Pérez",
		"Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Schneider", "Fischer", "Weber",
		"Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein",
		"Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Kowalski",
		"Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski",
		"Mazur", "Jankowski", "Bernard", "Dubois", "Petit", "Durand", "Leroy", "Moreau", "Laurent", "Lefèvre",
		"Michel", "Fontaine", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
		"Greco", "Bruno", "Gallo", "Conti", "De Luca", "Costa", "Silva", "Santos", "Ferreira", "Pereira",
		"Oliveira", "Almeida", "Gonçalves", "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk",
		"Aydın", "Özdemir", "Arslan", "Doğan", "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson",
		"Olsson", "Persson", "Jørgensen", "Sørensen", "Hansen", "Nielsen", "Pedersen", "Ivanov", "Petrov", "Smirnov",
		"Kuznetsov", "Popov", "Novák", "Horváth", "Nagy", "Kovács", "Tóth", "Szabó", "Kim", "Park",
		"Choi", "Nguyen", "Tran", "Pham", "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang",
		"Singh", "Kumar", "Sharma", "Gupta", "Khan", "Ahmed", "Hussain", "O'Brien", "O'Connor", "Murphy",
		"Kelly", "Byrne", "Walsh", "MacDonald", "Campbell", "Stewart", "Murray", "van Dijk", "de Vries", "Jansen",
	}
	genFold = map[rune]string{
		'á': "a", 'à': "a", 'â': "a", 'ä': "a", 'ã': "a", 'å': "a", 'ą': "a", 'æ': "ae",
		'ç': "c", 'ć': "c", 'č': "c", 'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'ę': "e", 'ě': "e",
		'ğ': "g", 'í': "i", 'ì': "i", 'î': "i", 'ï': "i", 'ı': "i", 'ł': "l", 'ñ': "n", 'ń': "n",
		'ó': "o", 'ò': "o", 'ô': "o", 'ö': "o", 'õ': "o", 'ø': "o", 'ř': "r", 'ś': "s", 'ş': "s", 'š': "s",
		'ß': "ss", 'ú': "u", 'ù': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ź': "z", 'ż': "z", 'ž': "z",
	}
	genEmailDomains = []string{"example.com", "example.org", "example.net", "mail.example.com",
		"post.example.org", "inbox.example.net", "corp.example.com"}
	genTags = []struct {
		tag string
		p   float64
	}{{"newsletter", 0.3}, {"vip", 0.05}, {"b2b", 0.15}, {"wholesale", 0.05}, {"referral", 0.1},
		{"partner", 0.03}, {"event-2025", 0.08}, {"priority", 0.04}}
	genPrefs = map[string]app.Preferences{
		"GB": {Language: "en-GB", Timezone: "Europe/London", Currency: "GBP"},
		"US": {Language: "en-US", Timezone: "America/New_York", Currency: "USD"},
		"DE": {Language: "de", Timezone: "Europe/Berlin", Currency: "EUR"},
		"FR": {Language: "fr", Timezone: "Europe/Paris", Currency: "EUR"},
	}
	genAddresses = map[string][]app.AddressInput{
		"GB": {{Street: "High Street", City: "London", PostalCode: "SW1A 1AA"}, {Street: "Deansgate", City: "Manchester", PostalCode: "M3 4LQ"},
			{Street: "Princes Street", City: "Edinburgh", PostalCode: "EH2 2ER"}},
		"US": {{Street: "Broadway", City: "New York", Region: "NY", PostalCode: "10001"},
			{Street: "Market Street", City: "San Francisco", Region: "CA", PostalCode: "94103"},
			{Street: "State Street", City: "Chicago", Region: "IL", PostalCode: "60601"}},
		"DE": {{Street: "Friedrichstraße", City: "Berlin", PostalCode: "10117"}, {Street: "Königsallee", City: "Düsseldorf", PostalCode: "40212"}},
		"FR": {{Street: "rue de Rivoli", City: "Paris", PostalCode: "75001"}, {Street: "rue de la République", City: "Lyon", PostalCode: "69002"}},
	}
	// genNoteTemplates have a blank (_) for each noun.
	genNoteTemplates = []string{
		"Called about the _; wants a follow-up next week.",
		"Asked for a quote on the _ and the _.",
		"Prefers email to phone calls, especially about the _.",
		"Complained about the _, escalated to support.",
		"Renewal is due soon; discussed the _.",
		"Met at the trade fair, interested in the _.",
		"Sent the _ by post as requested.",
		"Paid the _ late again; reminded them about the _.",
		"Happy with the _, might recommend us to a colleague.",
		"Wants a discount on the _ before signing.",
		"Left a voicemail about the _.",
		"Visited the showroom and looked at the _ and the _.",
		"Needs the _ delivered before the end of the month.",
		"Changed their mind about the _.",
		"Asked whether the _ comes with a warranty.",
		"Returned the _; refund processed.",
		"Booked a demo of the _ for Thursday.",
		"Café meeting went well — keen on the _.",
	}
	// genNouns are ordered by how often notes mention them.
	genNouns = []string{
		"invoice", "order", "delivery", "contract", "quote", "subscription", "renewal", "refund",
		"warranty", "account", "payment", "discount", "upgrade", "shipment", "installation", "appointment",
		"proposal", "brochure", "catalogue", "sample", "meeting", "webinar", "newsletter", "survey",
		"onboarding", "training", "trial", "licence", "certificate", "insurance", "mortgage", "loan",
		"pension", "portfolio", "budget", "forecast", "audit", "receipt", "voucher", "membership",
		"loyalty card", "referral bonus", "partnership", "franchise", "warehouse", "pallets", "courier", "customs form",
		"espresso machine", "bicycle", "sofa", "laptop", "printer", "tablet", "headphones", "camera",
		"kettle", "mattress", "wardrobe", "ceramics", "textiles", "saffron", "vanilla", "olive oil",
		"winter tyres", "solar panels", "heat pump", "boiler", "kitchen", "bathroom", "roof", "garden",
		"wedding", "conference", "gala dinner", "crème brûlée", "résumé", "château tour", "ski pass", "yacht charter",
		"piano", "violin", "easel", "telescope", "aquarium", "greenhouse", "sauna", "treadmill",
		"microscope", "drone", "scooter", "caravan", "forklift", "generator", "compressor", "chandelier",
		"tapestry", "sculpture", "lithograph", "porcelain", "marquee", "gazebo", "pergola", "trellis",
		"hammock", "kayak", "canoe", "snowboard", "surfboard", "paddleboard", "saddle", "harness",
	}
)

// schemaKey names the tenant schema by a hash of every migration's text, so
// a cached fixture is rebuilt when any migration changes, not only when one
// is added.
func schemaKey() (string, error) {
	names, err := fs.Glob(migrationFS, "migrations/tenant/*.sql")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range names {
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return "", err
		}
		h.Write([]byte(name))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:10], nil
}
