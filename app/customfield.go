package app

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CustomFieldType is the kind of value a custom field holds.
type CustomFieldType string

// Custom field types.
const (
	FieldText     CustomFieldType = "text"
	FieldNumber   CustomFieldType = "number"
	FieldDate     CustomFieldType = "date"
	FieldSelect   CustomFieldType = "select"
	FieldCheckbox CustomFieldType = "checkbox"
)

// CustomFieldTypes lists every custom field type.
var CustomFieldTypes = []CustomFieldType{FieldText, FieldNumber, FieldDate, FieldSelect, FieldCheckbox}

// Label is the type's name as shown to people.
func (t CustomFieldType) Label() string {
	switch t {
	case FieldCheckbox:
		return "Yes / no"
	case FieldSelect:
		return "Choice"
	}
	if t == "" {
		return ""
	}
	return strings.ToUpper(string(t[:1])) + string(t[1:])
}

// CustomField is a field an admin added to every client of the workspace.
// Values are stored as text in a canonical form: numbers as Go formats them,
// dates as YYYY-MM-DD, checkboxes as "true" or "false".
type CustomField struct {
	ID        string          `json:"id"`
	Key       string          `json:"key"`
	Label     string          `json:"label"`
	Type      CustomFieldType `json:"type"`
	Options   []string        `json:"options,omitempty"`
	Required  bool            `json:"required"`
	Position  int             `json:"position"`
	CreatedAt time.Time       `json:"created_at"`
}

// Check validates raw against the field's definition and returns the value
// in canonical form. An empty value is "no value": refused when required.
func (f CustomField) Check(raw string) (string, error) {
	field := "custom_fields." + f.Key
	v := strings.TrimSpace(raw)
	if v == "" {
		if f.Required && f.Type != FieldCheckbox {
			return "", InvalidField(field, f.Label+" is required.")
		}
		if f.Type == FieldCheckbox {
			return "false", nil
		}
		return "", nil
	}
	switch f.Type {
	case FieldText:
		if utf8.RuneCountInString(v) > 500 || hasControl(v, false) {
			return "", InvalidField(field, "Must be at most 500 characters, with no control characters.")
		}
	case FieldNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return "", InvalidField(field, f.Label+" must be a number.")
		}
		v = strconv.FormatFloat(n, 'f', -1, 64)
	case FieldDate:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", InvalidField(field, f.Label+" must be a date (YYYY-MM-DD).")
		}
		v = d.Format(time.DateOnly)
	case FieldSelect:
		if !slices.Contains(f.Options, v) {
			return "", InvalidField(field, f.Label+" must be one of: "+strings.Join(f.Options, ", ")+".")
		}
	case FieldCheckbox:
		b, err := strconv.ParseBool(v)
		if v == "on" || v == "yes" {
			b, err = true, nil
		}
		if err != nil {
			return "", InvalidField(field, f.Label+" must be true or false.")
		}
		v = strconv.FormatBool(b)
	}
	return v, nil
}

// Display shows a stored value to people.
func (f CustomField) Display(v string) string {
	if f.Type == FieldCheckbox {
		if v == "true" {
			return "Yes"
		}
		return "No"
	}
	return v
}

// CustomFieldInput defines a new custom field.
type CustomFieldInput struct {
	Key      string          `json:"key"`
	Label    string          `json:"label" validate:"required,max=60"`
	Type     CustomFieldType `json:"type"`
	Options  []string        `json:"options"`
	Required bool            `json:"required"`
}

var fieldKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Normalize derives the key from the label when it is empty and checks the
// definition: a known type, options for a choice field and only for it.
func (in *CustomFieldInput) Normalize() error {
	in.Label = strings.TrimSpace(in.Label)
	in.Key = strings.TrimSpace(in.Key)
	if in.Key == "" {
		in.Key = fieldKeyFrom(in.Label)
	}
	var opts []string
	for _, o := range in.Options {
		if o = strings.TrimSpace(o); o != "" && !slices.Contains(opts, o) {
			opts = append(opts, o)
		}
	}
	in.Options = opts
	if err := Validate(in); err != nil {
		return err
	}
	switch {
	case !fieldKeyPattern.MatchString(in.Key):
		return InvalidField("key", "Use a key of lower-case letters, digits and underscores, starting with a letter.")
	case !slices.Contains(CustomFieldTypes, in.Type):
		return InvalidField("type", "Choose a type: text, number, date, select or checkbox.")
	case in.Type == FieldSelect && len(in.Options) < 2:
		return InvalidField("options", "A choice field needs at least two options, one per line.")
	case in.Type != FieldSelect && len(in.Options) > 0:
		in.Options = nil
	case len(in.Options) > 50:
		return InvalidField("options", "A choice field can have at most 50 options.")
	}
	return nil
}

// fieldKeyFrom turns a label into a key: "Loyalty tier" -> "loyalty_tier".
func fieldKeyFrom(label string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(label) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			under = false
		default:
			under = true
		}
	}
	k := b.String()
	if k != "" && k[0] >= '0' && k[0] <= '9' {
		k = "f_" + k
	}
	if len(k) > 40 {
		k = strings.TrimRight(k[:40], "_")
	}
	return k
}
