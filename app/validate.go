package app

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// validate is stateless after construction and safe for concurrent use; it is
// built once because validator caches struct metadata.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Report fields by their form/JSON name, which is what users and API clients see.
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			return name
		}
		return strings.ToLower(f.Name)
	})
	return v
}

// Validate checks a struct's `validate` tags and returns an EINVALID *Error
// listing every bad field with a readable message, or nil.
func Validate(s any) error {
	err := validate.Struct(s)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("validate: %w", err)
	}
	out := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
	for _, fe := range verrs {
		out.Fields = append(out.Fields, FieldError{Field: fe.Field(), Message: fieldMessage(fe)})
	}
	return out
}

func fieldMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "This field is required."
	case "email":
		return "Enter a valid email address."
	case "min":
		return fmt.Sprintf("Must be at least %s characters.", fe.Param())
	case "max":
		return fmt.Sprintf("Must be at most %s characters.", fe.Param())
	case "oneof":
		return fmt.Sprintf("Must be one of: %s.", strings.ReplaceAll(fe.Param(), " ", ", "))
	default:
		return "This value is not valid."
	}
}
