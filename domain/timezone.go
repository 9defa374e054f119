package domain

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the zone database travels with the binary, whatever the host has
)

// Zone is a user's time zone: one of the Rails (ActiveSupport) zone names the
// v2 API shows, backed by the IANA zone that defines its offsets.
type Zone struct {
	Name string // Rails name, e.g. "Copenhagen"
	IANA string // e.g. "Europe/Copenhagen"
}

// railsZones is ActiveSupport::TimeZone::MAPPING, the zone list v2 accepts,
// in its own order (west to east). Offsets come from the IANA database.
var railsZones = [...]Zone{
	{"International Date Line West", "Etc/GMT+12"},
	{"Midway Island", "Pacific/Midway"},
	{"American Samoa", "Pacific/Pago_Pago"},
	{"Hawaii", "Pacific/Honolulu"},
	{"Alaska", "America/Juneau"},
	{"Pacific Time (US & Canada)", "America/Los_Angeles"},
	{"Tijuana", "America/Tijuana"},
	{"Mountain Time (US & Canada)", "America/Denver"},
	{"Arizona", "America/Phoenix"},
	{"Chihuahua", "America/Chihuahua"},
	{"Mazatlan", "America/Mazatlan"},
	{"Central Time (US & Canada)", "America/Chicago"},
	{"Saskatchewan", "America/Regina"},
	{"Guadalajara", "America/Mexico_City"},
	{"Mexico City", "America/Mexico_City"},
	{"Monterrey", "America/Monterrey"},
	{"Central America", "America/Guatemala"},
	{"Eastern Time (US & Canada)", "America/New_York"},
	{"Indiana (East)", "America/Indiana/Indianapolis"},
	{"Bogota", "America/Bogota"},
	{"Lima", "America/Lima"},
	{"Quito", "America/Lima"},
	{"Atlantic Time (Canada)", "America/Halifax"},
	{"Caracas", "America/Caracas"},
	{"La Paz", "America/La_Paz"},
	{"Santiago", "America/Santiago"},
	{"Puerto Rico", "America/Puerto_Rico"},
	{"Newfoundland", "America/St_Johns"},
	{"Brasilia", "America/Sao_Paulo"},
	{"Buenos Aires", "America/Argentina/Buenos_Aires"},
	{"Montevideo", "America/Montevideo"},
	{"Georgetown", "America/Guyana"},
	{"Greenland", "America/Nuuk"},
	{"Mid-Atlantic", "Atlantic/South_Georgia"},
	{"Azores", "Atlantic/Azores"},
	{"Cape Verde Is.", "Atlantic/Cape_Verde"},
	{"Dublin", "Europe/Dublin"},
	{"Edinburgh", "Europe/London"},
	{"Lisbon", "Europe/Lisbon"},
	{"London", "Europe/London"},
	{"Casablanca", "Africa/Casablanca"},
	{"Monrovia", "Africa/Monrovia"},
	{"UTC", "Etc/UTC"},
	{"Belgrade", "Europe/Belgrade"},
	{"Bratislava", "Europe/Bratislava"},
	{"Budapest", "Europe/Budapest"},
	{"Ljubljana", "Europe/Ljubljana"},
	{"Prague", "Europe/Prague"},
	{"Sarajevo", "Europe/Sarajevo"},
	{"Skopje", "Europe/Skopje"},
	{"Warsaw", "Europe/Warsaw"},
	{"Zagreb", "Europe/Zagreb"},
	{"Brussels", "Europe/Brussels"},
	{"Copenhagen", "Europe/Copenhagen"},
	{"Madrid", "Europe/Madrid"},
	{"Paris", "Europe/Paris"},
	{"Amsterdam", "Europe/Amsterdam"},
	{"Berlin", "Europe/Berlin"},
	{"Bern", "Europe/Zurich"},
	{"Zurich", "Europe/Zurich"},
	{"Rome", "Europe/Rome"},
	{"Stockholm", "Europe/Stockholm"},
	{"Vienna", "Europe/Vienna"},
	{"West Central Africa", "Africa/Algiers"},
	{"Bucharest", "Europe/Bucharest"},
	{"Cairo", "Africa/Cairo"},
	{"Helsinki", "Europe/Helsinki"},
	{"Kyiv", "Europe/Kyiv"},
	{"Riga", "Europe/Riga"},
	{"Sofia", "Europe/Sofia"},
	{"Tallinn", "Europe/Tallinn"},
	{"Vilnius", "Europe/Vilnius"},
	{"Athens", "Europe/Athens"},
	{"Istanbul", "Europe/Istanbul"},
	{"Minsk", "Europe/Minsk"},
	{"Jerusalem", "Asia/Jerusalem"},
	{"Harare", "Africa/Harare"},
	{"Pretoria", "Africa/Johannesburg"},
	{"Kaliningrad", "Europe/Kaliningrad"},
	{"Moscow", "Europe/Moscow"},
	{"St. Petersburg", "Europe/Moscow"},
	{"Volgograd", "Europe/Volgograd"},
	{"Samara", "Europe/Samara"},
	{"Kuwait", "Asia/Kuwait"},
	{"Riyadh", "Asia/Riyadh"},
	{"Nairobi", "Africa/Nairobi"},
	{"Baghdad", "Asia/Baghdad"},
	{"Tehran", "Asia/Tehran"},
	{"Abu Dhabi", "Asia/Muscat"},
	{"Muscat", "Asia/Muscat"},
	{"Baku", "Asia/Baku"},
	{"Tbilisi", "Asia/Tbilisi"},
	{"Yerevan", "Asia/Yerevan"},
	{"Kabul", "Asia/Kabul"},
	{"Ekaterinburg", "Asia/Yekaterinburg"},
	{"Islamabad", "Asia/Karachi"},
	{"Karachi", "Asia/Karachi"},
	{"Tashkent", "Asia/Tashkent"},
	{"Chennai", "Asia/Kolkata"},
	{"Kolkata", "Asia/Kolkata"},
	{"Mumbai", "Asia/Kolkata"},
	{"New Delhi", "Asia/Kolkata"},
	{"Kathmandu", "Asia/Kathmandu"},
	{"Astana", "Asia/Dhaka"},
	{"Dhaka", "Asia/Dhaka"},
	{"Sri Jayawardenepura", "Asia/Colombo"},
	{"Almaty", "Asia/Almaty"},
	{"Novosibirsk", "Asia/Novosibirsk"},
	{"Rangoon", "Asia/Rangoon"},
	{"Bangkok", "Asia/Bangkok"},
	{"Hanoi", "Asia/Bangkok"},
	{"Jakarta", "Asia/Jakarta"},
	{"Krasnoyarsk", "Asia/Krasnoyarsk"},
	{"Beijing", "Asia/Shanghai"},
	{"Chongqing", "Asia/Chongqing"},
	{"Hong Kong", "Asia/Hong_Kong"},
	{"Urumqi", "Asia/Urumqi"},
	{"Kuala Lumpur", "Asia/Kuala_Lumpur"},
	{"Singapore", "Asia/Singapore"},
	{"Taipei", "Asia/Taipei"},
	{"Perth", "Australia/Perth"},
	{"Irkutsk", "Asia/Irkutsk"},
	{"Ulaanbaatar", "Asia/Ulaanbaatar"},
	{"Seoul", "Asia/Seoul"},
	{"Osaka", "Asia/Tokyo"},
	{"Sapporo", "Asia/Tokyo"},
	{"Tokyo", "Asia/Tokyo"},
	{"Yakutsk", "Asia/Yakutsk"},
	{"Darwin", "Australia/Darwin"},
	{"Adelaide", "Australia/Adelaide"},
	{"Canberra", "Australia/Melbourne"},
	{"Melbourne", "Australia/Melbourne"},
	{"Sydney", "Australia/Sydney"},
	{"Brisbane", "Australia/Brisbane"},
	{"Hobart", "Australia/Hobart"},
	{"Vladivostok", "Asia/Vladivostok"},
	{"Guam", "Pacific/Guam"},
	{"Port Moresby", "Pacific/Port_Moresby"},
	{"Magadan", "Asia/Magadan"},
	{"Srednekolymsk", "Asia/Srednekolymsk"},
	{"Solomon Is.", "Pacific/Guadalcanal"},
	{"New Caledonia", "Pacific/Noumea"},
	{"Fiji", "Pacific/Fiji"},
	{"Kamchatka", "Asia/Kamchatka"},
	{"Marshall Is.", "Pacific/Majuro"},
	{"Auckland", "Pacific/Auckland"},
	{"Wellington", "Pacific/Auckland"},
	{"Nuku'alofa", "Pacific/Tongatapu"},
	{"Tokelau Is.", "Pacific/Fakaofo"},
	{"Chatham Is.", "Pacific/Chatham"},
	{"Samoa", "Pacific/Apia"},
}

// legacyGroups are the city lists the legacy API shows, Windows-style, for
// zones that share one offset: "(GMT +01:00) Brussels, Copenhagen, Madrid, Paris".
// A zone in no group is shown under its own name.
var legacyGroups = [...][]string{
	{"Guadalajara", "Mexico City", "Monterrey"},
	{"Bogota", "Lima", "Quito"},
	{"Dublin", "Edinburgh", "Lisbon", "London"},
	{"Belgrade", "Bratislava", "Budapest", "Ljubljana", "Prague"},
	{"Sarajevo", "Skopje", "Warsaw", "Zagreb"},
	{"Brussels", "Copenhagen", "Madrid", "Paris"},
	{"Amsterdam", "Berlin", "Bern", "Rome", "Stockholm", "Vienna"},
	{"Athens", "Bucharest"},
	{"Helsinki", "Kyiv", "Riga", "Sofia", "Tallinn", "Vilnius"},
	{"Harare", "Pretoria"},
	{"Moscow", "St. Petersburg", "Volgograd"},
	{"Kuwait", "Riyadh"},
	{"Abu Dhabi", "Muscat"},
	{"Islamabad", "Karachi"},
	{"Chennai", "Kolkata", "Mumbai", "New Delhi"},
	{"Astana", "Dhaka"},
	{"Bangkok", "Hanoi", "Jakarta"},
	{"Beijing", "Chongqing", "Hong Kong"},
	{"Kuala Lumpur", "Singapore"},
	{"Osaka", "Sapporo", "Tokyo"},
	{"Canberra", "Melbourne", "Sydney"},
	{"Auckland", "Wellington"},
}

// DefaultZone is the time zone of a user created without one.
var DefaultZone = Zone{"UTC", "Etc/UTC"}

type zoneIndex struct {
	byName   map[string]Zone   // Rails name, lower-cased
	byIANA   map[string]Zone   // first Rails zone for each IANA zone, lower-cased
	label    map[string]string // Rails name → legacy city list
	byLabel  map[string][]Zone // lower-cased city list → its zones
	location map[string]*time.Location
}

var zones = sync.OnceValue(func() *zoneIndex {
	ix := &zoneIndex{
		byName:   map[string]Zone{},
		byIANA:   map[string]Zone{},
		label:    map[string]string{},
		byLabel:  map[string][]Zone{},
		location: map[string]*time.Location{},
	}
	for _, z := range railsZones {
		loc, err := time.LoadLocation(z.IANA)
		if err != nil {
			panic("domain: zone table names an unknown IANA zone: " + z.IANA) // a bug in the table, caught by any test
		}
		ix.location[z.Name] = loc
		ix.byName[strings.ToLower(z.Name)] = z
		if _, ok := ix.byIANA[strings.ToLower(z.IANA)]; !ok {
			ix.byIANA[strings.ToLower(z.IANA)] = z
		}
		ix.label[z.Name] = z.Name
	}
	for _, g := range legacyGroups {
		label := strings.Join(g, ", ")
		for _, name := range g {
			ix.label[name] = label
			ix.byLabel[strings.ToLower(label)] = append(ix.byLabel[strings.ToLower(label)], ix.byName[strings.ToLower(name)])
		}
	}
	for _, z := range railsZones {
		if _, grouped := ix.byLabel[strings.ToLower(ix.label[z.Name])]; !grouped {
			ix.byLabel[strings.ToLower(z.Name)] = []Zone{z}
		}
	}
	return ix
})

// Location returns the IANA location of the zone.
func (z Zone) Location() *time.Location { return zones().location[z.Name] }

// StandardOffset is the zone's offset from UTC outside summer time in the
// year of t, as Rails' utc_offset reports it: the smaller of January's and
// July's offsets. (IsDST cannot tell: Europe/Dublin marks its winter time as
// the "daylight" one.)
func (z Zone) StandardOffset(t time.Time) time.Duration {
	loc := z.Location()
	_, jan := time.Date(t.Year(), time.January, 1, 0, 0, 0, 0, loc).Zone()
	_, jul := time.Date(t.Year(), time.July, 1, 0, 0, 0, 0, loc).Zone()
	return time.Duration(min(jan, jul)) * time.Second
}

// LegacyName is the zone as the legacy API shows it at time t, e.g.
// "(GMT +01:00) Brussels, Copenhagen, Madrid, Paris".
func (z Zone) LegacyName(t time.Time) string {
	off := z.StandardOffset(t)
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("(GMT %c%02d:%02d) %s", sign, int(off.Hours()), int(off.Minutes())%60, zones().label[z.Name])
}

// ResolveZone reads a time zone in any of the three forms the APIs use: the
// Rails name ("Copenhagen"), the IANA name ("Europe/Copenhagen") or the legacy
// display form ("(GMT +01:00) Brussels, Copenhagen, Madrid, Paris"). A legacy
// form names a group of zones; current is kept when it belongs to the group, so
// a legacy client echoing what it read never moves a user from Copenhagen to Brussels.
func ResolveZone(s string, current Zone) (Zone, bool) {
	ix := zones()
	key := strings.ToLower(strings.TrimSpace(s))
	if z, ok := ix.byName[key]; ok {
		return z, true
	}
	if z, ok := ix.byIANA[key]; ok {
		return z, true
	}
	if strings.HasPrefix(key, "(gmt") {
		if i := strings.IndexByte(key, ')'); i > 0 {
			key = strings.TrimSpace(key[i+1:])
		}
	}
	group, ok := ix.byLabel[key]
	if !ok {
		return Zone{}, false
	}
	for _, z := range group {
		if z == current {
			return z, true
		}
	}
	return group[0], true
}

// ZoneByName returns the zone with the given Rails name, as stored.
func ZoneByName(name string) (Zone, bool) {
	z, ok := zones().byName[strings.ToLower(name)]
	return z, ok
}
