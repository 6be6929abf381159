package spotifyfake

import (
	"fmt"
	"strings"
)

// Word lists for synthetic but realistic artist, album and track names.
// Some carry diacritics so name normalization is exercised.

var firstNames = []string{
	"Maya", "Liam", "Sofía", "Noah", "Amara", "Elias", "Chloé", "Mateo", "Aisha", "Jonas",
	"Freya", "Kofi", "Lucía", "Oskar", "Yara", "Rafael", "Ingrid", "Tomás", "Nadia", "Hugo",
	"Zoë", "Felix", "Leila", "Bruno", "Astrid", "Diego", "Imani", "Luca", "Selin", "Marcus",
	"Björn", "Elena", "Kai", "Priya", "Jasper", "Mariana", "Theo", "Anouk", "Idris", "Clara",
	"Emeka", "Hana", "Søren", "Valentina", "Ravi", "Juno", "Arjun", "Nora", "Malik", "Iris",
	"Dmitri", "Camila", "Ezra", "Ayumi", "Pablo", "Greta", "Omar", "Linnea", "Santiago", "Mei",
	"Caleb", "Fatou", "Emil", "Renée", "Kwame", "Alba", "Lars", "Noemí", "Viktor", "Sade",
	"Milo", "Inés", "Tariq", "Elsa", "Julian", "Keiko", "Andrés", "Wren", "Ibrahim", "Lotte",
	"Declan", "Ximena", "Rosa", "Anders", "Nia", "Gabriel", "Hélène", "Tobias", "Zainab", "Remy",
}

var lastNames = []string{
	"Lindqvist", "Okafor", "Peña", "Moreau", "Tanaka", "Hale", "Novak", "Castillo", "Brandt", "Mensah",
	"Rossi", "Kowalski", "Haddad", "Sørensen", "Alvarez", "Whitfield", "Nakamura", "Dubois", "Adeyemi", "Larsen",
	"Romero", "Fischer", "Costa", "Mbeki", "Varga", "Delgado", "Holm", "Achebe", "Ferreira", "Kim",
	"Nyström", "Salazar", "Quinn", "Bauer", "Oduya", "Marchetti", "Lund", "Herrera", "Petrov", "Diallo",
	"Baptiste", "Strand", "Mendoza", "Ishikawa", "Carver", "Jovanović", "Aguilar", "Eklund", "Sato", "Fontaine",
	"Reyes", "Hoffmann", "Abara", "Valdés", "Keller", "Nilsen", "Cruz", "Wolfe", "Chandra", "Bergström",
	"Santos", "Vogel", "Ndiaye", "Morales", "Ashford", "Kaur", "Lucero", "Falk", "Osei", "Ortega",
	"Calloway", "Jung", "Dahl", "Esposito", "Nwosu", "Vance", "Ibáñez", "Sterling", "Mori", "Åberg",
}

var adjectives = []string{
	"Velvet", "Neon", "Silver", "Crimson", "Hollow", "Golden", "Electric", "Midnight", "Wild", "Paper",
	"Broken", "Cosmic", "Lunar", "Quiet", "Savage", "Frozen", "Burning", "Crystal", "Violet", "Rusty",
	"Static", "Gentle", "Distant", "Sunken", "Restless", "Amber", "Hidden", "Faded", "Scarlet", "Wandering",
	"Iron", "Glass", "Honey", "Stormy", "Emerald", "Sleepy", "Northern", "Salty", "Tender", "Radiant",
	"Lonesome", "Atomic", "Dusty", "Sacred", "Bitter", "Hazy", "Mellow", "Phantom", "Stellar", "Copper",
}

var nouns = []string{
	"Foxes", "Harbor", "Echoes", "Lanterns", "Wolves", "Rivers", "Machines", "Comets", "Satellites", "Orchids",
	"Ravens", "Tides", "Ghosts", "Horizons", "Pilots", "Mirrors", "Owls", "Sparrows", "Giants", "Prophets",
	"Magnets", "Canyons", "Tigers", "Voyagers", "Kites", "Engines", "Cathedrals", "Jackals", "Meadows", "Signals",
	"Dolphins", "Bandits", "Lions", "Monarchs", "Shadows", "Embers", "Pines", "Strangers", "Sirens", "Rockets",
	"Parade", "Arcade", "Collective", "Society", "Union", "Orchestra", "Club", "Assembly", "Brigade", "Circus",
}

var stageNames = []string{
	"Zayra", "Kolo", "Mireille", "Azalea", "Oberon", "Nyx", "Solenne", "Tavi", "Quill", "Rook",
	"Lumen", "Vesper", "Ondine", "Calyx", "Juniper", "Maelo", "Sable", "Kestrel", "Indigo", "Orrin",
	"Noor", "Saffi", "Bexley", "Halcyon", "Ziggy", "Pax", "Ilse", "Marlowe", "Elio", "Thessaly",
}

var stagePrefixes = []string{"DJ", "MC", "Lil", "Young", "Big", "Saint", "Baby", "King", "Queen", "Sister"}

var songWords = []string{
	"Love", "Night", "Fire", "Heart", "Summer", "Rain", "City", "Dream", "Light", "Ocean",
	"Gold", "Stars", "Home", "Road", "Dance", "Blue", "Shadow", "River", "Moon", "Sky",
	"Storm", "Paradise", "Fever", "Mercy", "Gravity", "Echo", "Silence", "Thunder", "Velvet", "Wings",
	"Kingdom", "Mirage", "Neon", "Honey", "Winter", "Lullaby", "Wildfire", "Horizon", "Satellite", "Daylight",
	"Canción", "Corazón", "Noche", "Sueño", "Mañana", "Été", "Lumière", "Himmel", "Sehnsucht", "Kaze",
}

var songTemplates = []string{
	"%s", "%s %s", "The %s", "%s of %s", "%s in the %s", "No More %s", "Your %s", "%s Again",
	"Midnight %s", "%s & %s", "Lost in %s", "%s (Interlude)", "Hello %s", "%s Song", "After the %s",
}

var genreFamilies = [][]string{
	{"pop", "dance pop", "electropop", "indie pop", "synthpop", "art pop"},
	{"rock", "indie rock", "alternative rock", "garage rock", "post-punk", "shoegaze", "psychedelic rock"},
	{"hip hop", "rap", "trap", "conscious hip hop", "boom bap", "drill"},
	{"r&b", "neo soul", "contemporary r&b", "soul", "funk"},
	{"edm", "house", "deep house", "techno", "drum and bass", "trance", "ambient"},
	{"jazz", "contemporary jazz", "jazz fusion", "bebop", "vocal jazz"},
	{"country", "americana", "bluegrass", "folk", "indie folk", "singer-songwriter"},
	{"latin", "reggaeton", "latin pop", "bachata", "cumbia", "salsa"},
	{"metal", "heavy metal", "death metal", "metalcore", "doom metal"},
	{"classical", "modern classical", "neoclassical", "chamber music", "soundtrack"},
	{"k-pop", "j-pop", "afrobeats", "amapiano", "highlife", "bossa nova"},
}

var labels = []string{
	"Northbound Records", "Saltwater Music", "Paper Moon Recordings", "Blue Arc", "Hollow Tree Records",
	"Neon Valley", "Kite & Key", "Ironhill Music", "Lumen Audio", "Sunday Static", "Copperline",
	"Glasshouse Records", "Moth Light", "Velvet Vault", "Open Field Music",
}

// markets is the catalog's set of markets (ISO 3166-1 alpha-2); every
// release is available in all of them.
var markets = []string{
	"AR", "AT", "AU", "BE", "BR", "CA", "CH", "CL", "CO", "DE",
	"DK", "ES", "FI", "FR", "GB", "IE", "IN", "IT", "JP", "KR",
	"MX", "NG", "NL", "NO", "NZ", "PL", "PT", "SE", "US", "ZA",
}

func validMarket(m string) bool {
	for _, x := range markets {
		if x == m {
			return true
		}
	}
	return false
}

// artistName draws one artist name.
func artistName(r *rng) string {
	switch p := r.intn(100); {
	case p < 38:
		return pick(r, firstNames) + " " + pick(r, lastNames)
	case p < 52:
		return "The " + pick(r, adjectives) + " " + pick(r, nouns)
	case p < 66:
		return pick(r, adjectives) + " " + pick(r, nouns)
	case p < 74:
		return pick(r, stagePrefixes) + " " + pick(r, stageNames)
	case p < 82:
		return pick(r, firstNames) + " " + pick(r, lastNames) + " & The " + pick(r, nouns)
	case p < 88:
		return pick(r, stageNames) + " " + pick(r, lastNames)
	case p < 94:
		return pick(r, lastNames) + " " + pick(r, nouns)
	default:
		return pick(r, firstNames) + " " + string(pick(r, lastNames)[0]) + ". " + pick(r, lastNames)
	}
}

func songName(r *rng) string {
	t := pick(r, songTemplates)
	n := strings.Count(t, "%s")
	args := make([]any, n)
	for i := range args {
		args[i] = pick(r, songWords)
	}
	return fmt.Sprintf(t, args...)
}
