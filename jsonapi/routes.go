package jsonapi

import (
	"net/http"

	"github.com/deskgate/deskgate/domain"
	"github.com/gorilla/mux"
)

// Each v2 path also answers with a .json suffix, which clients such as
// go-zendesk always append.
const (
	jsonSuffix = `{json:(?:\.json)?}`
	user       = "/users/{user_id:[0-9]+}"
)

// ShowUserRoute mounts the user show alone, for the router to try before
// any other route: gorilla/mux tries routes in order, a regular expression
// each, and the show is most of the API's requests. Trying the thirty
// routes once before it was 6 % of a cached show's CPU, the legacy API's
// five 1 %. (A subrouter per prefix would skip them all, but mux v1.8.1
// then answers 404 where a method is not allowed.)
func (h *Handler) ShowUserRoute(r *mux.Router) {
	r.Handle("/api/v2"+user+jsonSuffix, h.adapt(domain.Requests, h.showUser)).Methods(http.MethodGet)
}

// Routes mounts every other v2 route on r, a user's update and delete first.
func (h *Handler) Routes(r *mux.Router) {
	// Every route here counts as domain.Requests but the incremental
	// exports, which count as domain.ExportRequests for their own lower limit.
	route := func(method, path string, f handlerFunc) {
		r.Handle("/api/v2"+path+jsonSuffix, h.adapt(domain.Requests, f)).Methods(method)
	}
	const (
		gm         = user + "/group_memberships"
		om         = user + "/organization_memberships"
		identities = user + "/identities"
		get        = http.MethodGet
		post       = http.MethodPost
		put        = http.MethodPut
		delete     = http.MethodDelete
	)
	route(put, user, h.updateUser)
	route(delete, user, h.deleteUser)
	route(get, "/users", h.listUsers)
	route(post, "/users", h.createUser)
	route(get, "/users/show_many", h.showManyUsers)
	route(get, "/users/count", h.countUsers)
	route(get, "/users/search", h.searchUsers)
	route(get, "/users/autocomplete", h.autocompleteUsers)
	route(get, "/users/me", h.me)
	route(post, "/users/request_create", h.requestCreate)

	route(get, "/users/me/session", h.currentSession)
	route(get, "/users/me/session/renew", h.renewSession)
	route(delete, "/users/me/logout", h.logout)
	route(get, user+"/sessions", listOfUser(h, "sessions", h.svc.Sessions, h.sessions))
	route(delete, user+"/sessions", h.deleteUserSessions)
	route(get, user+"/sessions/{session_id:[0-9]+}", h.showSession)
	route(delete, user+"/sessions/{session_id:[0-9]+}", deleteOfUser("session_id", h.svc.DeleteSession))
	route(post, "/users/logout_many", h.logoutMany)
	route(get, "/sessions", h.accountSessions)
	// deskgate's own: the browser sign-in, and the outbox tests read mail from.
	r.Handle(domain.LoginPath, h.adapt(domain.Requests, h.login)).Methods(post).Name(loginRoute)
	route(get, "/deskgate/outbox", h.outbox)

	r.Handle("/api/v2/incremental/users"+jsonSuffix, h.adapt(domain.ExportRequests, h.exportUsers)).Methods(get)
	r.Handle("/api/v2/incremental/users/cursor"+jsonSuffix, h.adapt(domain.ExportRequests, h.exportUsersCursor)).Methods(get)

	route(post, "/users/create_or_update", h.createOrUpdateUser)
	route(post, "/users/create_many", h.createMany)
	route(post, "/users/create_or_update_many", h.createOrUpdateMany)
	route(put, "/users/update_many", h.updateMany)
	route(delete, "/users/destroy_many", h.destroyMany)
	route(get, "/job_statuses", h.listJobStatuses)
	route(get, "/job_statuses/show_many", h.showManyJobStatuses)
	route(get, "/job_statuses/{job_id:[0-9a-f]{32}}", h.showJobStatus)
	route(get, user+"/related", h.related)
	route(get, user+"/compliance_deletion_statuses", h.complianceDeletionStatuses)
	route(put, user+"/merge", h.mergeUser)
	route(put, "/users/me/merge", h.mergeMe)
	route(get, "/deleted_users", h.listDeletedUsers)
	route(get, "/deleted_users/count", h.countDeletedUsers)
	route(get, "/deleted_users/{deleted_user_id:[0-9]+}", h.showDeletedUser)
	route(delete, "/deleted_users/{deleted_user_id:[0-9]+}", h.eraseUser)
	route(get, user+"/skips", h.listSkips)
	route(post, "/skips", h.createSkip)
	route(post, "/channels/voice/agents/{agent_id:[0-9]+}/users/{user_id:[0-9]+}/display", h.displayUser)
	route(get, "/deskgate/agent_events", h.agentEvents)

	const membership, mid = "/{membership_id:[0-9]+}", "membership_id"
	route(get, gm, listOfUser(h, "group_memberships", h.svc.GroupMemberships, h.groupMemberships))
	route(post, gm, h.createGroupMembership)
	route(get, gm+membership, oneOfUser("group_membership", mid, h.svc.GroupMembership, h.groupMembership))
	route(delete, gm+membership, deleteOfUser(mid, h.svc.DeleteGroupMembership))
	route(put, gm+membership+"/make_default", makeDefaultOfUser("group_memberships", mid, h.svc.MakeDefaultGroupMembership, h.groupMemberships))

	route(get, om, listOfUser(h, "organization_memberships", h.svc.OrganizationMemberships, h.organizationMemberships))
	route(post, om, h.createOrganizationMembership)
	route(get, om+membership, oneOfUser("organization_membership", mid, h.svc.OrganizationMembership, h.organizationMembership))
	route(delete, om+membership, deleteOfUser(mid, h.svc.DeleteOrganizationMembership))
	route(put, om+membership+"/make_default", makeDefaultOfUser("organization_memberships", mid, h.svc.MakeDefaultOrganizationMembership, h.organizationMemberships))
	// The account-wide lists and creates, which go-zendesk's membership methods use.
	route(get, "/group_memberships", listOfAccount(h, "group_memberships", "group_id", h.svc.AccountGroupMemberships, h.groupMemberships))
	route(post, "/group_memberships", h.createGroupMembership)
	route(get, "/organization_memberships", listOfAccount(h, "organization_memberships", "organization_id", h.svc.AccountOrganizationMemberships, h.organizationMemberships))
	route(post, "/organization_memberships", h.createOrganizationMembership)
	route(put, user+"/organizations/{organization_id:[0-9]+}/make_default", h.makeDefaultOrganization)
	route(delete, user+"/organizations/{organization_id:[0-9]+}", h.unassignOrganization)

	const identity, iid = identities + "/{identity_id:[0-9]+}", "identity_id"
	route(get, identities, h.listIdentities)
	route(post, identities, h.createIdentity)
	route(get, identity, oneOfUser("identity", iid, h.svc.Identity, h.identity))
	route(put, identity, h.updateIdentity)
	route(delete, identity, deleteOfUser(iid, h.svc.DeleteIdentity))
	route(put, identity+"/make_primary", makeDefaultOfUser("identities", iid, h.svc.MakePrimaryIdentity, h.identities))
	route(put, identity+"/verify", oneOfUser("identity", iid, h.svc.VerifyIdentity, h.identity))
	route(put, identity+"/request_verification", h.requestVerification)
	// The end users' paths to their own identities, which the seed's list,
	// show and make_primary name as "the second endpoint".
	const endUserIdentities = "/end_users/{user_id:[0-9]+}/identities"
	route(get, endUserIdentities, h.listIdentities)
	route(get, endUserIdentities+"/{identity_id:[0-9]+}", oneOfUser("identity", iid, h.svc.Identity, h.identity))
	route(put, endUserIdentities+"/{identity_id:[0-9]+}/make_primary", makeDefaultOfUser("identities", iid, h.svc.MakePrimaryIdentity, h.identities))

	route(post, user+"/password", h.setPassword)
	route(put, user+"/password", h.changePassword)
	route(get, user+"/password/requirements", h.passwordRequirements)

	route(get, "/groups", h.listGroups)
	route(post, "/groups", h.createGroup)
	route(get, "/groups/{group_id:[0-9]+}", h.showGroup)
	route(put, "/groups/{group_id:[0-9]+}", h.updateGroup)
	route(delete, "/groups/{group_id:[0-9]+}", h.deleteGroup)

	route(get, "/organizations", h.listOrganizations)
	route(post, "/organizations", h.createOrganization)
	route(get, "/organizations/{organization_id:[0-9]+}", h.showOrganization)
	route(put, "/organizations/{organization_id:[0-9]+}", h.updateOrganization)
	route(delete, "/organizations/{organization_id:[0-9]+}", h.deleteOrganization)

	route(get, "/deskgate/legacy_usage", h.legacyUsage)
	route(post, "/deskgate/backup", h.backup)
}
