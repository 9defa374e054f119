package deskgate_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// nullInRealResponses are the user properties the real service sends as null
// when empty or absent although the published schema does not mark them
// nullable: API-NOTES §1 "Null vs omitted" (a captured full user carries every
// key, null for alias, signature, details, notes, phone, photo, external_id,
// two_factor_auth_enabled …), for ids and times that are unset:
// organization_id, default_group_id, custom_role_id, last_login_at, and email,
// "string or null" in §1's table (a merged-away user has no email left).
// Where the spec and real responses disagree, the real responses win. Nothing
// else is relaxed.
var nullInRealResponses = []string{
	"alias", "signature", "details", "notes", "phone", "photo", "external_id",
	"two_factor_auth_enabled", "organization_id", "default_group_id", "custom_role_id", "last_login_at", "email",
}

// v2Schemas loads the published components into a minimal OpenAPI 3.0
// document (the file holds only components:) and relaxes the user schemas as
// described above.
func v2Schemas(t *testing.T) openapi3.Schemas {
	t.Helper()
	components, err := os.ReadFile("testdata/v2-components.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := append([]byte("openapi: 3.0.3\ninfo:\n  title: deskgate v2 components\n  version: 2.0.0\npaths: {}\n"), components...)
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatal(err)
	}
	schemas := spec.Components.Schemas
	for _, name := range []string{"UserForAdmin", "UserForEndUser"} {
		props := schemas[name].Value.Properties
		for _, p := range nullInRealResponses {
			if prop := props[p]; prop != nil {
				prop.Value.Nullable = true
			} else if name == "UserForAdmin" {
				t.Fatalf("%s has no property %q to relax", name, p)
			}
		}
	}
	// API-NOTES §2.3: create_or_update_many results are {id, status, email}
	// [observed] and failed items carry error and details; the published
	// oneOf knows neither, and real responses win. Any one shape must match.
	observed := openapi3.NewObjectSchema().WithProperty("id", openapi3.NewIntegerSchema()).
		WithProperty("status", openapi3.NewStringSchema()).WithRequired([]string{"id", "status"})
	failed := openapi3.NewObjectSchema().WithProperty("error", openapi3.NewStringSchema()).
		WithProperty("details", openapi3.NewStringSchema()).WithRequired([]string{"error", "details"})
	result := schemas["JobStatusResultObject"].Value
	result.AnyOf = append(result.OneOf, openapi3.NewSchemaRef("", observed), openapi3.NewSchemaRef("", failed))
	result.OneOf = nil
	// API-NOTES §2.7: a permanently deleted user keeps the deleted-user
	// shape with its personal fields null, and a deleted user without an
	// email or organization has them null as every user object does; the
	// published DeletedUserObject allows null for neither. Its
	// shared_phone_number is typed string there, while every user object
	// (the spec's own UserForAdmin included) has it boolean: a deleted user
	// is a user, so the boolean wins.
	deleted := schemas["DeletedUserObject"].Value.Properties
	for _, p := range []string{"email", "organization_id"} {
		deleted[p].Value.Nullable = true
	}
	deleted["shared_phone_number"] = openapi3.NewSchemaRef("", openapi3.NewBoolSchema())
	return schemas
}

// TestV2Schemas validates every response body of the golden scenario against
// the published schema of each object it holds.
func TestV2Schemas(t *testing.T) {
	schemas := v2Schemas(t)
	validate := func(t *testing.T, schema string, v any) {
		t.Helper()
		s := schemas[schema]
		if s == nil {
			t.Fatalf("no schema %s", schema)
		}
		if err := s.Value.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
			t.Errorf("%s: %v\nvalue: %v", schema, err, v)
		}
	}
	objectSchema := map[string]string{
		"group": "GroupObject", "groups": "GroupObject",
		"organization": "OrganizationObject", "organizations": "OrganizationObject",
		"group_membership": "GroupMembershipObject", "group_memberships": "GroupMembershipObject",
		"organization_membership": "OrganizationMembershipObject", "organization_memberships": "OrganizationMembershipObject",
		"user_related":                 "UserRelatedObject",
		"compliance_deletion_statuses": "ComplianceDeletionStatusObject",
		"identity":                     "UserIdentityObject", "identities": "UserIdentityObject",
		"session": "SessionObject", "sessions": "SessionObject",
		"mails":      outboxMailSchema,
		"job_status": "JobStatusObject", "job_statuses": "JobStatusObject",
		"deleted_user": "DeletedUserObject", "deleted_users": "DeletedUserObject",
		"skip": "TicketSkipObject", "skips": "TicketSkipObject",
	}
	schemas[outboxMailSchema] = outboxMailSchemaRef()
	checked := 0
	for _, st := range slices.Concat(v2Scenario(t), v2IdentityScenario(t), goldenSteps(t, "sessions", "outbox"), crossSteps(t), v2JobsScenario(t), v2LifecycleScenario(t)) {
		if st.r.status >= 400 || len(st.r.body) == 0 {
			// Error bodies: the spec's Error/Errors schemas are JSON:API bodies
			// of newer endpoints, not the Users API's (see the file's header);
			// the goldens pin them. An empty 200 (request_verification, the
			// password changes) is the seed's "Empty response" string schema.
			continue
		}
		t.Run(st.name, func(t *testing.T) {
			var body map[string]any
			if err := json.Unmarshal(st.r.body, &body); err != nil {
				t.Fatal(err)
			}
			offset := map[string]any{}
			_, export := body["end_of_stream"]
			for key, v := range body {
				switch {
				case export && exportKey(t, key, v):
					continue
				case key == "abilities":
					// No published schema; API-NOTES §6.12 gives the shape.
					for _, item := range items(v) {
						if a, ok := item.(map[string]any); !ok || len(a) != 6 || !isString(a["url"]) || a["can_edit"] == nil {
							t.Errorf("abilities item %v", item)
						}
					}
					continue
				case key == "roles":
					if list, ok := v.([]any); !ok || len(list) != 0 {
						t.Errorf("roles %v: deskgate keeps no custom roles", v)
					}
					continue
				}
				switch key {
				case "user", "users":
					schema := map[string]string{"admin": "UserForAdmin", "end-user": "UserForEndUser"}[st.view]
					if schema == "" {
						// The anonymous placeholder of /users/me has id and url
						// null (API-NOTES §6.4, unconfirmed), which neither
						// user schema allows: the golden pins it instead.
						if st.name != "me_anonymous" {
							t.Errorf("no view for %s", key)
						}
						continue
					}
					for _, item := range items(v) {
						validate(t, schema, item)
						checked++
					}
				case "count":
					if c, ok := v.(map[string]any); ok {
						// The count object has no published schema; API-NOTES §2.7.
						if _, ok := c["value"].(float64); !ok || len(c) != 2 {
							t.Errorf("count object %v", c)
						}
						if r, ok := c["refreshed_at"]; !ok || r != nil && !isString(r) {
							t.Errorf("count object %v", c)
						}
						continue
					}
					offset[key] = v
				case "requirements":
					// UserPasswordRequirementsResponse is defined by the seed,
					// not the components: an array of strings.
					list, ok := v.([]any)
					if !ok || len(list) == 0 || slices.ContainsFunc(list, func(x any) bool { return !isString(x) }) {
						t.Errorf("requirements %v", v)
					}
				case "authenticity_token": // RenewSessionResponse, and next to the session of a sign-in
					if !isString(v) {
						t.Errorf("authenticity_token %v", v)
					}
				case "next_page", "previous_page":
					offset[key] = v
				case "meta", "links":
					// The spec's Pagination marks neither cursors nor links
					// nullable, yet API-NOTES §3 has them null at the ends;
					// checked by hand instead of relaxing the spec.
					for k, x := range v.(map[string]any) {
						if k == "has_more" {
							if _, ok := x.(bool); !ok {
								t.Errorf("meta.has_more %v", x)
							}
						} else if x != nil && !isString(x) {
							t.Errorf("%s.%s %v", key, k, x)
						}
					}
				default:
					schema, ok := objectSchema[key]
					if !ok {
						t.Errorf("no schema known for key %q: add one", key)
						continue
					}
					for _, item := range items(v) {
						validate(t, schema, item)
						checked++
					}
				}
			}
			if len(offset) > 0 {
				if len(offset) != 3 {
					t.Errorf("offset paging keys %v, want count, next_page and previous_page", offset)
				}
				validate(t, "OffsetPaginationObject", offset)
			}
		})
	}
	if checked < 60 {
		t.Errorf("only %d objects validated", checked)
	}
}

// exportKey checks a paging key of the incremental export by hand (the
// spec publishes its parameters, not its body: API-NOTES §6.9), and
// reports whether key was one.
func exportKey(t *testing.T, key string, v any) bool {
	t.Helper()
	switch key {
	case "end_of_stream":
		if _, ok := v.(bool); !ok {
			t.Errorf("%s %v", key, v)
		}
	case "count", "end_time":
		if _, ok := v.(float64); !ok {
			t.Errorf("%s %v", key, v)
		}
	case "next_page", "after_cursor", "after_url", "before_cursor", "before_url":
		if v != nil && !isString(v) {
			t.Errorf("%s %v", key, v)
		}
	default:
		return false
	}
	return true
}

// items is a list's elements, or the one object.
func items(v any) []any {
	if list, ok := v.([]any); ok {
		return list
	}
	return []any{v}
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// outboxMailSchema names the schema of a row of GET /api/v2/deskgate/outbox,
// deskgate's own extension, which has no published schema.
const outboxMailSchema = "DeskgateOutboxMail"

func outboxMailSchemaRef() *openapi3.SchemaRef {
	str := openapi3.NewStringSchema
	props := map[string]*openapi3.Schema{
		"id": openapi3.NewInt64Schema(), "to": str(), "subject": str(), "text": str(),
		"user_id": openapi3.NewInt64Schema().WithNullable(), "created_at": openapi3.NewDateTimeSchema(),
		"delivery": str().WithEnum("pending", "sent", "failed").WithNullable(),
		"attempts": openapi3.NewIntegerSchema().WithMin(0), "last_error": str().WithNullable(),
		"next_attempt_at": openapi3.NewDateTimeSchema().WithNullable(), "sent_at": openapi3.NewDateTimeSchema().WithNullable(),
	}
	s := openapi3.NewObjectSchema().WithProperties(props).WithoutAdditionalProperties()
	for k := range props {
		s.Required = append(s.Required, k)
	}
	return s.NewRef()
}

// crossSteps are the v2 answers of the cross-protocol goldens, all read by
// the owner.
func crossSteps(t *testing.T) []v2Step {
	steps := goldenSteps(t, "cross")
	for i := range steps {
		steps[i].view = "admin"
	}
	return steps
}

// goldenSteps reads back the goldens of the named testdata/ directories
// whose scenarios live in their own tests, as steps with a JSON body; of a
// side-by-side cross-protocol golden, the v2 side.
func goldenSteps(t *testing.T, dirs ...string) []v2Step {
	t.Helper()
	var steps []v2Step
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.golden"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no goldens in testdata/%s: %v", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, v2, ok := strings.Cut(string(b), "\n=== v2\n"); ok {
				b = []byte(v2)
			}
			head, body, _ := strings.Cut(string(b), "\n\n")
			var status int
			if _, err := fmt.Sscanf(head, "HTTP %d", &status); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if strings.TrimSpace(body) != "" {
				steps = append(steps, v2Step{name: strings.TrimPrefix(filepath.ToSlash(f), "testdata/"), r: response{status: status, body: []byte(body)}})
			}
		}
	}
	return steps
}
