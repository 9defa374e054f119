package testmode

import (
	"bytes"
	"encoding/json"

	"github.com/deskgate/deskgate/domain"
)

// fixtureFile is the JSON fixture format (testdata/fixtures/example.json
// shows every field). Field names follow the v2 API.
type fixtureFile struct {
	Organizations []struct {
		Name           *string   `json:"name"`
		Details        *string   `json:"details"`
		Notes          *string   `json:"notes"`
		ExternalID     *string   `json:"external_id"`
		DomainNames    *[]string `json:"domain_names"`
		Tags           *[]string `json:"tags"`
		SharedTickets  *bool     `json:"shared_tickets"`
		SharedComments *bool     `json:"shared_comments"`
	} `json:"organizations"`
	Groups []struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Default     *bool   `json:"default"`
		IsPublic    *bool   `json:"is_public"`
	} `json:"groups"`
	Users []struct {
		Name         *string        `json:"name"`
		Email        *string        `json:"email"`
		Password     *string        `json:"password"`
		Role         *string        `json:"role"`
		Verified     *bool          `json:"verified"`
		Active       *bool          `json:"active"`
		Suspended    *bool          `json:"suspended"`
		ExternalID   *string        `json:"external_id"`
		Alias        *string        `json:"alias"`
		Phone        *string        `json:"phone"`
		Notes        *string        `json:"notes"`
		Details      *string        `json:"details"`
		Locale       *string        `json:"locale"`
		TimeZone     *string        `json:"time_zone"`
		Tags         *[]string      `json:"tags"`
		UserFields   map[string]any `json:"user_fields"`
		Groups       []string       `json:"groups"`
		Organization string         `json:"organization"`
		Identities   []struct {
			Type     string `json:"type"`
			Value    string `json:"value"`
			Verified bool   `json:"verified"`
		} `json:"identities"`
		Tokens []string `json:"tokens"`
	} `json:"users"`
}

// decodeFixture reads a JSON fixture. Unknown fields are refused, so a typo
// does not silently load a different directory than the one written.
func decodeFixture(data []byte) (domain.Fixture, error) {
	var ff fixtureFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ff); err != nil {
		return domain.Fixture{}, &domain.Error{Kind: domain.BadRequest, Code: "InvalidFixture",
			Msg: "The fixture is not valid: " + err.Error() + `. Expected {"organizations": […], "groups": […], "users": […]}.`}
	}
	var f domain.Fixture
	for _, o := range ff.Organizations {
		f.Organizations = append(f.Organizations, domain.OrganizationChanges{
			Name: o.Name, Details: o.Details, Notes: o.Notes, ExternalID: o.ExternalID, DomainNames: o.DomainNames,
			Tags: o.Tags, SharedTickets: o.SharedTickets, SharedComments: o.SharedComments,
		})
	}
	for _, g := range ff.Groups {
		f.Groups = append(f.Groups, domain.GroupChanges{Name: g.Name, Description: g.Description, Default: g.Default, IsPublic: g.IsPublic})
	}
	for _, u := range ff.Users {
		c := domain.UserChanges{
			Name: u.Name, Email: u.Email, Password: u.Password, Verified: u.Verified, Active: u.Active,
			Suspended: u.Suspended, ExternalID: u.ExternalID, Alias: u.Alias, Phone: u.Phone, Notes: u.Notes,
			Details: u.Details, Locale: u.Locale, TimeZone: u.TimeZone, Tags: u.Tags, UserFields: u.UserFields,
		}
		for _, i := range u.Identities {
			c.Identities = append(c.Identities, domain.NewIdentity{Type: domain.IdentityType(i.Type), Value: i.Value, Verified: i.Verified})
		}
		f.Users = append(f.Users, domain.FixtureUser{UserChanges: c, Role: u.Role, Groups: u.Groups, Organization: u.Organization, Tokens: u.Tokens})
	}
	return f, nil
}
