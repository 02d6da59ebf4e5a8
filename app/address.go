package app

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// AddressType is what an address is used for.
type AddressType string

// Address types.
const (
	AddressShipping AddressType = "shipping"
	AddressBilling  AddressType = "billing"
	AddressBusiness AddressType = "business"
	AddressOther    AddressType = "other"
)

// AddressTypes lists every address type.
var AddressTypes = []AddressType{AddressShipping, AddressBilling, AddressBusiness, AddressOther}

// Label is the type's name as shown to people.
func (t AddressType) Label() string {
	if t == "" {
		return ""
	}
	return strings.ToUpper(string(t[:1])) + string(t[1:])
}

// Address is a postal address of a client. Each client has at most one
// default address per type.
type Address struct {
	ID         string      `json:"id"`
	ClientID   string      `json:"-"`
	Type       AddressType `json:"type"`
	Label      string      `json:"label"`
	Street     string      `json:"street"`
	City       string      `json:"city"`
	Region     string      `json:"region"`
	PostalCode string      `json:"postal_code"`
	Country    string      `json:"country"`
	IsDefault  bool        `json:"is_default"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// Lines returns the address as lines for display, skipping empty parts.
func (a Address) Lines() []string {
	var out []string
	if a.Street != "" {
		out = append(out, strings.Split(a.Street, "\n")...)
	}
	cityLine := strings.TrimSpace(strings.Join(nonEmpty(a.PostalCode, a.City), " "))
	if a.Region != "" {
		cityLine = strings.TrimSpace(strings.Join(nonEmpty(cityLine, a.Region), ", "))
	}
	if cityLine != "" {
		out = append(out, cityLine)
	}
	return append(out, CountryName(a.Country))
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AddressInput is an address as a form or the API gives it.
type AddressInput struct {
	Type       AddressType `json:"type"`
	Label      string      `json:"label" validate:"max=40"`
	Street     string      `json:"street" validate:"max=200"`
	City       string      `json:"city" validate:"max=100"`
	Region     string      `json:"region" validate:"max=100"`
	PostalCode string      `json:"postal_code" validate:"max=20"`
	Country    string      `json:"country"`
	IsDefault  bool        `json:"is_default"`
}

// Normalize trims the input, upper-cases the country and postal code, and
// checks the type, the country (ISO 3166 alpha-2) and the postal code's
// shape where the country's is known. Errors name prefix+field.
func (in *AddressInput) Normalize(prefix string) error {
	for _, p := range []*string{&in.Label, &in.Street, &in.City, &in.Region, &in.PostalCode, &in.Country} {
		*p = strings.TrimSpace(*p)
	}
	in.Country = strings.ToUpper(in.Country)
	in.PostalCode = strings.ToUpper(in.PostalCode)
	err := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
	add := func(field, msg string) {
		err.Fields = append(err.Fields, FieldError{Field: prefix + field, Message: msg})
	}
	if !slices.Contains(AddressTypes, in.Type) {
		add("type", "Choose a type: shipping, billing, business or other.")
	}
	if verr := Validate(in); verr != nil {
		for _, fe := range ErrorFields(verr) {
			add(fe.Field, fe.Message)
		}
	}
	if in.Street == "" && in.City == "" {
		add("street", "Enter a street or a city.")
	}
	if in.Country == "" {
		add("country", "Choose a country.")
	} else if !IsCountry(in.Country) {
		add("country", "Use a two-letter ISO 3166 country code, like GB or DE.")
	} else if in.PostalCode != "" && !ValidPostalCode(in.Country, in.PostalCode) {
		add("postal_code", "This postal code does not look right for "+CountryName(in.Country)+".")
	}
	if len(err.Fields) > 0 {
		return err
	}
	return nil
}

// IsCountry reports whether code is an ISO 3166-1 alpha-2 country code.
func IsCountry(code string) bool {
	if len(code) != 2 {
		return false
	}
	r, err := language.ParseRegion(code)
	return err == nil && r.IsCountry() && r.String() == strings.ToUpper(code)
}

// CountryName is the English name of a country code, or the code itself.
func CountryName(code string) string {
	if r, err := language.ParseRegion(code); err == nil {
		if name := display.English.Regions().Name(r); name != "" {
			return name
		}
	}
	return code
}

// Country is a country code and its English name.
type Country struct {
	Code string
	Name string
}

var countries = sync.OnceValue(func() []Country {
	var out []Country
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			if IsCountry(code) {
				out = append(out, Country{Code: code, Name: CountryName(code)})
			}
		}
	}
	slices.SortFunc(out, func(x, y Country) int { return strings.Compare(x.Name, y.Name) })
	return out
})

// Countries lists every ISO 3166 country, sorted by name, for pickers.
func Countries() []Country { return countries() }

// postalCodePatterns are the postal code shapes of the countries whose
// shape is simple and well known; other countries' codes are accepted as
// typed (up to 20 characters).
var postalCodePatterns = map[string]*regexp.Regexp{
	"US": regexp.MustCompile(`^\d{5}(-\d{4})?$`),
	"GB": regexp.MustCompile(`^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$`),
	"CA": regexp.MustCompile(`^[A-Z]\d[A-Z] ?\d[A-Z]\d$`),
	"DE": regexp.MustCompile(`^\d{5}$`),
	"FR": regexp.MustCompile(`^\d{5}$`),
	"ES": regexp.MustCompile(`^\d{5}$`),
	"IT": regexp.MustCompile(`^\d{5}$`),
	"NL": regexp.MustCompile(`^\d{4} ?[A-Z]{2}$`),
	"BE": regexp.MustCompile(`^\d{4}$`),
	"AT": regexp.MustCompile(`^\d{4}$`),
	"CH": regexp.MustCompile(`^\d{4}$`),
	"DK": regexp.MustCompile(`^\d{4}$`),
	"NO": regexp.MustCompile(`^\d{4}$`),
	"SE": regexp.MustCompile(`^\d{3} ?\d{2}$`),
	"FI": regexp.MustCompile(`^\d{5}$`),
	"PL": regexp.MustCompile(`^\d{2}-\d{3}$`),
	"PT": regexp.MustCompile(`^\d{4}-\d{3}$`),
	"IE": regexp.MustCompile(`^[A-Z]\d[\dW] ?[A-Z\d]{4}$`),
	"AU": regexp.MustCompile(`^\d{4}$`),
	"NZ": regexp.MustCompile(`^\d{4}$`),
	"JP": regexp.MustCompile(`^\d{3}-?\d{4}$`),
	"IN": regexp.MustCompile(`^\d{6}$`),
	"BR": regexp.MustCompile(`^\d{5}-?\d{3}$`),
	"RU": regexp.MustCompile(`^\d{6}$`),
	"UA": regexp.MustCompile(`^\d{5}$`),
	"KZ": regexp.MustCompile(`^([A-Z]\d{2}[A-Z]\d[A-Z]\d|\d{6})$`),
}

// ValidPostalCode reports whether code has the shape of country's postal
// codes, where Parley knows that shape.
func ValidPostalCode(country, code string) bool {
	p, ok := postalCodePatterns[country]
	return !ok || p.MatchString(code)
}
