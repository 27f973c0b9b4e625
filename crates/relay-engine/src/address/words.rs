//! Word lists for [`random_alias`](super::random_alias).
//!
//! Rules for editing: short (at most 8 letters), lowercase ASCII letters only, no duplicates, nothing
//! that reads as rude, sexual, violent, religious, political or about people's bodies, alone or
//! next to any word of the other list (so no colour words next to animals, no fruit slang).
//! The lists are sorted; the tests check every rule that a machine can check. Changing a list
//! changes which aliases a seeded RNG produces, never the validity of existing aliases.

/// Adjectives, the first word of a random alias.
pub(super) const ADJECTIVES: [&str; 328] = [
    "able", "agile", "airy", "alert", "amber", "amiable", "ample", "apt", "arctic", "ardent", "astral", "autumn",
    "azure", "balmy", "basic", "benign", "bold", "bonny", "bouncy", "brave", "breezy", "bright", "brisk", "broad",
    "bronze", "bubbly", "busy", "calm", "candid", "careful", "casual", "cheerful", "cheery", "chilly", "chipper",
    "chummy", "civic", "clean", "clear", "clement", "clever", "cloudy", "coastal", "cobalt", "comfy", "cool", "copper",
    "coral", "cordial", "cosmic", "cozy", "crimson", "crisp", "curious", "cyan", "dainty", "dandy", "dapper", "daring",
    "dashing", "deft", "dense", "dewy", "direct", "distant", "dreamy", "dulcet", "dusky", "dusty", "eager", "early",
    "earnest", "east", "elated", "elegant", "elfin", "epic", "equal", "exact", "fair", "faithful", "fancy", "fast",
    "fearless", "festive", "fiery", "fine", "first", "fleet", "floral", "fluffy", "flying", "fond", "frank", "free",
    "fresh", "friendly", "frosty", "frugal", "funny", "fuzzy", "gentle", "gifted", "glad", "gleaming", "global",
    "glossy", "glowing", "golden", "good", "graceful", "grand", "grassy", "great", "green", "gusty", "hardy", "hazel",
    "hazy", "healthy", "hearty", "helpful", "hidden", "honest", "hopeful", "humble", "humming", "hushed", "icy",
    "ideal", "indigo", "inner", "ivory", "jade", "jaunty", "jazzy", "jolly", "jovial", "joyful", "keen", "kind",
    "kindly", "lasting", "leafy", "lemon", "level", "light", "lilac", "limber", "linen", "little", "lively", "local",
    "lofty", "long", "loyal", "lucid", "lucky", "lunar", "magic", "main", "major", "maple", "marine", "mellow",
    "merry", "mighty", "mild", "mint", "minty", "misty", "modern", "modest", "mossy", "musical", "mutual", "narrow",
    "nautical", "neat", "nifty", "nimble", "noble", "north", "novel", "oaken", "olive", "open", "orange", "orbital",
    "orderly", "outer", "oval", "pale", "pastel", "patient", "peaceful", "pearl", "pebbly", "peppy", "perky", "placid",
    "plain", "pleasant", "plucky", "polar", "polished", "polite", "precise", "prime", "prompt", "proud", "pure",
    "quaint", "quick", "quiet", "quirky", "radiant", "rainy", "rapid", "rare", "ready", "regal", "rested", "rich",
    "robust", "rosy", "round", "royal", "ruby", "rugged", "rustic", "sage", "sandy", "satin", "scarlet", "scenic",
    "secret", "sepia", "serene", "sharp", "shimmery", "shiny", "silent", "silken", "silky", "silver", "simple",
    "sincere", "sleek", "slow", "smart", "smooth", "snappy", "snowy", "snug", "social", "solar", "solid", "sonic",
    "sound", "south", "spare", "sparkly", "spotted", "spring", "spry", "stable", "starry", "steady", "steep", "still",
    "stoic", "stormy", "stout", "striped", "sturdy", "summer", "sunlit", "sunny", "super", "sweet", "swift", "tall",
    "tame", "tawny", "teal", "thrifty", "tidal", "tidy", "timely", "tiny", "topaz", "tranquil", "tropical", "true",
    "trusty", "twin", "unique", "upbeat", "upland", "urban", "useful", "valiant", "valid", "vast", "velvet", "verdant",
    "vernal", "violet", "vital", "vivid", "warm", "wavy", "west", "wide", "windy", "winged", "winter", "wintry",
    "wiry", "wise", "witty", "wooden", "woody", "woolly", "zen", "zesty", "zippy",
];

/// Nouns, the second word of a random alias.
pub(super) const NOUNS: [&str; 370] = [
    "acorn", "agate", "alder", "almond", "alpaca", "anchor", "ant", "apple", "aspen", "aster", "atlas", "atoll",
    "aurora", "badger", "bagel", "balloon", "bamboo", "banjo", "barley", "barn", "barrel", "basil", "basket", "bat",
    "bay", "beach", "beacon", "bean", "bear", "bee", "beech", "beetle", "bell", "bench", "berry", "birch", "biscuit",
    "bison", "blanket", "boat", "book", "bottle", "boulder", "bowl", "bread", "breeze", "bridge", "brook", "brush",
    "bucket", "butter", "button", "cabin", "cactus", "camel", "candle", "canoe", "canvas", "canyon", "carp", "carrot",
    "cashew", "castle", "cave", "cedar", "celery", "cello", "chair", "cheese", "cheetah", "chest", "chipmunk", "clam",
    "cliff", "clock", "cloud", "clover", "cocoa", "coffee", "coin", "comet", "compass", "cookie", "cottage", "cove",
    "crab", "crane", "crate", "crayon", "creek", "cricket", "crow", "crystal", "cup", "cypress", "dahlia", "daisy",
    "deer", "delta", "desert", "dew", "dolphin", "domino", "drum", "duck", "dune", "eagle", "easel", "elk", "elm",
    "ember", "falcon", "fence", "fern", "ferret", "field", "fig", "finch", "fir", "firefly", "flame", "flute", "fog",
    "forest", "fox", "frog", "frost", "galaxy", "garden", "garlic", "garnet", "gate", "gecko", "gem", "gerbil",
    "geyser", "giraffe", "glacier", "glade", "globe", "goat", "goose", "grape", "grove", "guitar", "gull", "hamster",
    "harbor", "hare", "harp", "hawk", "hedgehog", "heron", "hill", "hippo", "holly", "honey", "horse", "igloo",
    "iguana", "iris", "iron", "island", "ivy", "jar", "juniper", "kayak", "kettle", "kite", "kitten", "kiwi", "koala",
    "ladder", "ladle", "ladybug", "lagoon", "lake", "lamb", "lamp", "lane", "lantern", "lark", "laurel", "leek",
    "lemur", "lentil", "leopard", "letter", "library", "lichen", "lily", "lime", "lion", "llama", "lobster", "lotus",
    "lynx", "macaw", "mango", "mantis", "map", "marble", "market", "marmot", "meadow", "medal", "melody", "mesa",
    "meteor", "mink", "mist", "mole", "moon", "moose", "moss", "moth", "mouse", "mug", "museum", "nebula", "newt",
    "nickel", "noodle", "oak", "oar", "oat", "octopus", "onion", "onyx", "opal", "orbit", "orca", "orchard", "orchid",
    "otter", "owl", "oyster", "page", "palette", "pancake", "panda", "papaya", "parrot", "path", "peak", "pear",
    "pebble", "pecan", "pelican", "pencil", "penguin", "peony", "pepper", "perch", "piano", "pike", "pillow", "pine",
    "planet", "plaza", "plover", "plum", "poem", "pond", "pony", "poppy", "possum", "potato", "prairie", "pretzel",
    "puffin", "pulsar", "puma", "pumpkin", "puppy", "puzzle", "quasar", "quilt", "rabbit", "raccoon", "radish", "raft",
    "rain", "rainbow", "raven", "reed", "reef", "rhino", "rhythm", "ribbon", "rice", "riddle", "ridge", "river",
    "road", "robin", "rocket", "rose", "sail", "salmon", "seal", "sheep", "shelf", "shore", "shrimp", "sleet", "snail",
    "snow", "song", "spark", "sparrow", "spoon", "spruce", "squash", "squid", "squirrel", "star", "stoat", "stone",
    "stork", "storm", "story", "summit", "swan", "syrup", "table", "teapot", "tent", "tern", "thread", "thunder",
    "thyme", "ticket", "tiger", "tin", "toad", "toast", "token", "tomato", "tortoise", "toucan", "tower", "trail",
    "trophy", "trout", "trumpet", "tuba", "tulip", "tuna", "tundra", "turnip", "turtle", "valley", "violin", "vole",
    "waffle", "walnut", "walrus", "whale", "wheat", "whisk", "whistle", "willow", "windmill", "wolf", "wren", "yak",
    "zebra", "zinc", "zinnia",
];
