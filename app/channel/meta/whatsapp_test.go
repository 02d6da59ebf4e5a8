package meta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/app"
)

const waMessagesPath = "POST /" + GraphVersion + "/" + testPNID + "/messages"

func waSendOK(id string) http.HandlerFunc {
	return jsonAnswer(http.StatusOK, `{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],`+
		`"messages":[{"id":"`+id+`","message_status":"accepted"}]}`)
}

func TestWhatsAppSendText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, to, address, want string
	}{
		{"OK", "+16505551234", "", "16505551234"},
		{"AddressPreferred", "+16505551234", "16505550000", "16505550000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route(waMessagesPath, waSendOK("wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"))
			ch := testChannel(app.ChannelWhatsAppCloud, f.srv.URL)
			id, err := testDriver().WhatsApp().Send(context.Background(), app.Outbound{Channel: ch, To: tt.to,
				Address: tt.address, Text: "Yes, <b>blue</b> & green", Transport: app.TransportWhatsApp})
			if err != nil {
				t.Fatal(err)
			}
			if want := "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"; id != want {
				t.Errorf("got id %q, want %q", id, want)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != "POST" || r.Path != "/v26.0/"+testPNID+"/messages" || r.RawQuery != "" {
				t.Errorf("got %s %s?%s, want POST /v26.0/%s/messages", r.Method, r.Path, r.RawQuery, testPNID)
			}
			if r.Auth != "Bearer "+testToken || r.ContentType != "application/json" {
				t.Errorf("got auth %q type %q, want the bearer token and JSON", r.Auth, r.ContentType)
			}
			want := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"` + tt.want +
				`","type":"text","text":{"body":"Yes, <b>blue</b> & green","preview_url":false}}`
			if string(r.Body) != want {
				t.Errorf("got body %s, want %s", r.Body, want)
			}
		})
	}
}

func TestWhatsAppSendLongText(t *testing.T) {
	t.Parallel()
	f := newFakeMeta(t)
	f.route(waMessagesPath, waSendOK("wamid.A"))
	ch := testChannel(app.ChannelWhatsAppCloud, f.srv.URL)
	text := strings.Repeat("word ", 1000) // 5000 characters
	if _, err := testDriver().WhatsApp().Send(context.Background(), app.Outbound{Channel: ch, To: "+16505551234", Text: text}); err != nil {
		t.Fatal(err)
	}
	if got := len(f.requests()); got != 2 {
		t.Errorf("got %d messages, want 2 (WhatsApp takes 4096 characters)", got)
	}
}

func TestWhatsAppSendAttachments(t *testing.T) {
	t.Parallel()
	f := newFakeMeta(t)
	var uploads atomic.Int32
	f.route("POST /"+GraphVersion+"/"+testPNID+"/media", func(w http.ResponseWriter, r *http.Request) {
		jsonAnswer(http.StatusOK, fmt.Sprintf(`{"id":"MEDIA%d"}`, uploads.Add(1)))(w, r)
	})
	f.route(waMessagesPath, waSendOK("wamid.FIRST"))
	ch := testChannel(app.ChannelWhatsAppCloud, f.srv.URL)
	files := map[string][]byte{"img": jpegBytes, "pdf": []byte("%PDF-1.4 test")}
	out := app.Outbound{Channel: ch, To: "+16505551234", Text: "Here is the photo and the invoice",
		Attachments: []app.Attachment{
			{ID: "img", Filename: "photo.jpg", ContentType: "image/jpeg", Size: int64(len(jpegBytes))},
			{ID: "pdf", Filename: "invoice \"May\".pdf", ContentType: "application/pdf", Size: 13},
		},
		Open: func(a app.Attachment) ([]byte, error) { return files[a.ID], nil }}
	id, err := testDriver().WhatsApp().Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if id != "wamid.FIRST" {
		t.Errorf("got id %q, want wamid.FIRST", id)
	}
	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("got %d requests, want 2 uploads and 2 messages", len(reqs))
	}
	checkUpload(t, reqs[0], "image/jpeg", "photo.jpg", jpegBytes)
	checkUpload(t, reqs[1], "application/pdf", `invoice "May".pdf`, files["pdf"])
	wantBodies := []string{
		`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"image","image":{"id":"MEDIA1","caption":"Here is the photo and the invoice"}}`,
		`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"document","document":{"id":"MEDIA2","filename":"invoice \"May\".pdf"}}`,
	}
	for i, want := range wantBodies {
		if got := string(reqs[2+i].Body); got != want {
			t.Errorf("message %d: got %s, want %s", i, got, want)
		}
	}
}

// checkUpload asserts a media upload's multipart form.
func checkUpload(t *testing.T, r recorded, wantType, wantName string, wantData []byte) {
	t.Helper()
	if r.Method != "POST" || r.Path != "/v26.0/"+testPNID+"/media" || r.Auth != "Bearer "+testToken {
		t.Errorf("got %s %s auth %q, want an authorised POST to the media endpoint", r.Method, r.Path, r.Auth)
	}
	mt, params, err := mime.ParseMediaType(r.ContentType)
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("got content type %q, want multipart/form-data", r.ContentType)
	}
	form, err := multipart.NewReader(strings.NewReader(string(r.Body)), params["boundary"]).ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := form.Value["messaging_product"]; !reflect.DeepEqual(got, []string{"whatsapp"}) {
		t.Errorf("got messaging_product %v, want [whatsapp]", got)
	}
	if got := form.Value["type"]; !reflect.DeepEqual(got, []string{wantType}) {
		t.Errorf("got type %v, want [%s]", got, wantType)
	}
	fh := form.File["file"]
	if len(fh) != 1 || fh[0].Filename != wantName || fh[0].Header.Get("Content-Type") != wantType {
		t.Fatalf("got file parts %+v, want one named %q of type %s", fh, wantName, wantType)
	}
	rc, _ := fh[0].Open()
	data, _ := io.ReadAll(rc)
	if string(data) != string(wantData) {
		t.Errorf("got %d bytes of file, want %d", len(data), len(wantData))
	}
}

func TestWhatsAppSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		permanent  bool
		retryAfter time.Duration
		reason     string
	}{
		{"ServerError", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusInternalServerError, 131000, 0, "(#131000) Something went wrong")
		}, false, 0, "Something went wrong"},
		{"ServiceUnavailable", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusServiceUnavailable, 131016, 0, "(#131016) Service unavailable")
		}, false, 0, "Service unavailable"},
		{"Throughput", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 130429, 2494055, "(#130429) Rate limit hit")
		}, false, 5 * time.Second, "Rate limit hit"},
		{"TooManyRequestsRetryAfter", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			metaError(w, http.StatusTooManyRequests, 4, 0, "(#4) Application request limit reached")
		}, false, 7 * time.Second, "Application request limit reached"},
		{"BusinessUseCaseThrottle", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Business-Use-Case-Usage", `{"102290129340398":[{"type":"whatsapp","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":3}]}`)
			metaError(w, http.StatusBadRequest, 80007, 0, "(#80007) Rate limit issues")
		}, false, 3 * time.Minute, "Rate limit issues"},
		{"PairRateLimit", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 131056, 0, "(#131056) (Business Account, Consumer Account) pair rate limit hit")
		}, false, 10 * time.Second, "pair rate limit hit"},
		{"ReEngagement", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 131047, 0, "(#131047) Re-engagement message")
		}, true, 0, "more than 24 hours"},
		{"Undeliverable", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 131026, 0, "(#131026) Message Undeliverable")
		}, true, 0, "Message Undeliverable"},
		{"ExpiredToken", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusUnauthorized, 190, 463, "Error validating access token: Session has expired")
		}, true, 0, "Session has expired"},
		{"InvalidParameter", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter")
		}, true, 0, "WhatsApp: (#100) Invalid parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route(waMessagesPath, tt.answer)
			ch := testChannel(app.ChannelWhatsAppCloud, f.srv.URL)
			_, err := testDriver().WhatsApp().Send(context.Background(), app.Outbound{Channel: ch, To: "+16505551234", Text: "Hi"})
			se := sendErr(t, err)
			if se.Permanent != tt.permanent || se.RetryAfter != tt.retryAfter || !strings.Contains(se.Reason, tt.reason) {
				t.Errorf("got %+v, want permanent %v, retry after %v, reason with %q", se, tt.permanent, tt.retryAfter, tt.reason)
			}
		})
	}
}

func TestWhatsAppSendNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	ch := testChannel(app.ChannelWhatsAppCloud, srv.URL)
	_, err := testDriver().WhatsApp().Send(context.Background(), app.Outbound{Channel: ch, To: "+16505551234", Text: "Hi"})
	var se *app.SendError
	if err == nil || (errors.As(err, &se) && se.Permanent) {
		t.Errorf("got %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("got %v, want the token kept out of errors", err)
	}
}

func TestWhatsAppSendNoNumber(t *testing.T) {
	t.Parallel()
	ch := testChannel(app.ChannelWhatsAppCloud, "http://127.0.0.1:1")
	_, err := testDriver().WhatsApp().Send(context.Background(), app.Outbound{Channel: ch, To: "", Text: "Hi"})
	if se := sendErr(t, err); !se.Permanent {
		t.Errorf("got %+v, want permanent", se)
	}
}

func TestWhatsAppCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer http.HandlerFunc
		want   string
		code   string
	}{
		{"OK", jsonAnswer(http.StatusOK, `{"display_phone_number":"+1 555-078-3881","verified_name":"Acme Shoes","id":"`+testPNID+`"}`),
			"WhatsApp +1 555-078-3881 (Acme Shoes)", ""},
		{"OKDigits", jsonAnswer(http.StatusOK, `{"display_phone_number":"15550783881","verified_name":"Acme Shoes","id":"`+testPNID+`"}`),
			"WhatsApp +15550783881 (Acme Shoes)", ""},
		{"ErrBadToken", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusUnauthorized, 190, 0, "Invalid OAuth access token - Cannot parse access token")
		}, "", app.EUNAUTHORIZED},
		{"ErrUnknownID", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 100, 33, "Unsupported get request. Object with ID '106540352242922' does not exist")
		}, "", app.EINVALID},
		{"ErrOutage", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusInternalServerError, 2, 0, "An unexpected error has occurred. Please retry your request later.")
		}, "", app.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route("GET /"+GraphVersion+"/"+testPNID, tt.answer)
			got, err := testDriver().WhatsApp().Check(context.Background(), testChannel(app.ChannelWhatsAppCloud, f.srv.URL))
			var ae *app.Error
			if tt.code != "" && (!errors.As(err, &ae) || ae.Code != tt.code) {
				t.Fatalf("got %v, want an error coded %s", err, tt.code)
			}
			if tt.code == "" && (err != nil || got != tt.want) {
				t.Fatalf("got %q, %v, want %q", got, err, tt.want)
			}
			r := f.requests()[0]
			if r.RawQuery != "fields=display_phone_number%2Cverified_name" || r.Auth != "Bearer "+testToken {
				t.Errorf("got query %q auth %q, want the fields and the bearer token only", r.RawQuery, r.Auth)
			}
		})
	}
}

func TestWhatsAppValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings map[string]string
		fields   []string
	}{
		{"OK", map[string]string{keyAccessToken: " EAAJB0 ", keyPhoneNumberID: "106540352242922\n", keyAppSecret: "s3cret",
			keyVerifyToken: "v", keyAPIBaseURL: "http://127.0.0.1:8080/"}, nil},
		{"ErrRequired", map[string]string{}, []string{"settings.access_token", "settings.phone_number_id",
			"settings.app_secret", "settings.verify_token"}},
		{"ErrFormats", map[string]string{keyAccessToken: "EAA B", keyPhoneNumberID: "+1 555 078", keyAppSecret: "s",
			keyVerifyToken: "v", keyAPIBaseURL: "ftp://graph.facebook.com"}, []string{"settings.access_token",
			"settings.phone_number_id", "settings.api_base_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := testDriver().WhatsApp().Validate(tt.settings)
			var got []string
			var ae *app.Error
			if errors.As(err, &ae) {
				for _, f := range ae.Fields {
					got = append(got, f.Field)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("got fields %v, want %v", got, tt.fields)
			}
			if tt.fields == nil && (tt.settings[keyAccessToken] != "EAAJB0" || tt.settings[keyPhoneNumberID] != testPNID ||
				tt.settings[keyAPIBaseURL] != "http://127.0.0.1:8080") {
				t.Errorf("got %v, want trimmed settings", tt.settings)
			}
		})
	}
}
