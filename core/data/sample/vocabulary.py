"""Vocabulary of the built-in sample catalogue: categories, product types, attributes, brands.

Data only (and two lookups derived from it); core/data/sample/generator.py turns it into tables.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One leaf category and how its products are described."""

    path: str  # "Dept > Group > Leaf"
    product_type: str
    synonyms: tuple[str, ...]
    materials: tuple[str, ...]
    sizes: tuple[str, ...]
    price_range: tuple[float, float]
    feature: str  # one sentence a description can use

    @property
    def group(self) -> str:
        return " > ".join(self.path.split(" > ")[:2])

    @property
    def name(self) -> str:
        return self.path.split(" > ")[-1]


APPAREL_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
SHOE_SIZES = ("6", "7", "8", "9", "10", "11", "12")

LEAVES: tuple[Leaf, ...] = (
    Leaf("Clothing > Tops > T-Shirts", "t-shirt", ("tee", "tshirt"), ("cotton", "organic cotton", "polyester", "linen"), APPAREL_SIZES, (8, 40), "A soft crew neck that keeps its shape wash after wash."),
    Leaf("Clothing > Tops > Hoodies", "hoodie", ("hooded sweatshirt", "pullover"), ("cotton", "fleece", "polyester"), APPAREL_SIZES, (25, 90), "Brushed inside with a kangaroo pocket and drawstring hood."),
    Leaf("Clothing > Bottoms > Jeans", "jeans", ("denim pants", "denims"), ("denim", "stretch denim", "organic cotton"), ("28W", "30W", "32W", "34W", "36W"), (30, 120), "Five-pocket styling with a mid rise and straight leg."),
    Leaf("Clothing > Bottoms > Shorts", "shorts", ("short pants", "bermudas"), ("cotton", "nylon", "linen"), APPAREL_SIZES, (15, 50), "An easy fit with an elastic waist for warm days."),
    Leaf("Clothing > Dresses > Dresses", "dress", ("gown", "frock"), ("cotton", "silk", "linen", "polyester"), APPAREL_SIZES, (30, 200), "A flattering silhouette that moves from day to evening."),
    Leaf("Clothing > Outerwear > Jackets", "jacket", ("coat", "windbreaker"), ("nylon", "leather", "wool", "polyester"), APPAREL_SIZES, (50, 300), "Water resistant shell with zip pockets and a stand collar."),
    Leaf("Shoes > Athletic > Running Shoes", "running shoes", ("sneakers", "trainers"), ("mesh", "knit", "synthetic"), SHOE_SIZES, (50, 180), "Responsive cushioning and a breathable upper for daily miles."),
    Leaf("Shoes > Casual > Boots", "boots", ("ankle boots", "booties"), ("leather", "suede", "rubber"), SHOE_SIZES, (60, 250), "A lug sole grips wet pavement and trails alike."),
    Leaf("Shoes > Casual > Sandals", "sandals", ("slides", "flip flops"), ("rubber", "leather", "cork"), SHOE_SIZES, (15, 80), "A contoured footbed for all-day comfort in the heat."),
    Leaf("Accessories > Bags > Backpacks", "backpack", ("rucksack", "daypack"), ("nylon", "canvas", "leather", "polyester"), ("15L", "20L", "25L", "30L"), (25, 150), "A padded laptop sleeve and many organiser pockets."),
    Leaf("Accessories > Bags > Wallets", "wallet", ("billfold", "card holder"), ("leather", "canvas", "vegan leather"), ("slim", "bifold", "trifold"), (15, 90), "RFID blocking with room for cards and cash."),
    Leaf("Accessories > Eyewear > Sunglasses", "sunglasses", ("shades", "sun glasses"), ("acetate", "metal", "polycarbonate"), ("narrow", "medium", "wide"), (20, 200), "Polarised lenses that block 100% of UV rays."),
    Leaf("Accessories > Watches > Watches", "watch", ("wristwatch", "timepiece"), ("stainless steel", "titanium", "leather"), ("38mm", "42mm", "44mm"), (40, 400), "Sapphire crystal, water resistant to 50 metres."),
    Leaf("Electronics > Audio > Headphones", "headphones", ("headset", "earphones"), ("plastic", "aluminum", "memory foam"), ("over-ear", "on-ear", "in-ear"), (20, 350), "Active noise cancelling with 30 hours of battery."),
    Leaf("Electronics > Audio > Speakers", "bluetooth speaker", ("wireless speaker", "portable speaker"), ("fabric", "rubber", "aluminum"), ("mini", "compact", "large"), (25, 250), "Rich bass in a waterproof body you can take anywhere."),
    Leaf("Electronics > Phones > Phone Cases", "phone case", ("phone cover", "smartphone case"), ("silicone", "leather", "polycarbonate"), ("6.1 inch", "6.7 inch"), (10, 60), "Raised edges protect the screen and camera from drops."),
    Leaf("Electronics > Phones > Chargers", "charger", ("power adapter", "charging brick"), ("plastic", "gallium nitride"), ("20W", "30W", "65W"), (12, 70), "Fast charging through USB-C with a foldable plug."),
    Leaf("Electronics > Computers > Laptop Sleeves", "laptop sleeve", ("laptop case", "notebook sleeve"), ("neoprene", "felt", "leather"), ("13 inch", "15 inch", "16 inch"), (15, 80), "A plush lining that keeps scratches away."),
    Leaf("Electronics > Computers > Keyboards", "keyboard", ("mechanical keyboard", "keypad"), ("aluminum", "plastic"), ("compact", "tenkeyless", "full size"), (30, 220), "Hot-swappable switches and per-key backlighting."),
    Leaf("Electronics > Computers > Mice", "mouse", ("computer mouse", "wireless mouse"), ("plastic", "rubber"), ("small", "medium", "large"), (10, 120), "A precise sensor and quiet clicks for long sessions."),
    Leaf("Home > Kitchen > Coffee Makers", "coffee maker", ("coffee machine", "espresso maker"), ("stainless steel", "plastic", "glass"), ("4 cup", "8 cup", "12 cup"), (30, 400), "Brews a hot pot in minutes with a programmable timer."),
    Leaf("Home > Kitchen > Frying Pans", "frying pan", ("skillet", "fry pan"), ("cast iron", "stainless steel", "nonstick aluminum", "ceramic"), ("8 inch", "10 inch", "12 inch"), (15, 150), "Even heating on gas, electric and induction hobs."),
    Leaf("Home > Kitchen > Mugs", "mug", ("coffee cup", "tea cup"), ("ceramic", "stoneware", "glass", "enamel"), ("8 oz", "12 oz", "16 oz"), (6, 35), "Dishwasher and microwave safe with a comfortable handle."),
    Leaf("Home > Bedding > Bed Sheets", "bed sheets", ("sheet set", "bed linen"), ("cotton", "linen", "microfiber", "bamboo"), ("twin", "full", "queen", "king"), (25, 220), "Deep pockets fit mattresses up to 16 inches."),
    Leaf("Home > Bedding > Pillows", "pillow", ("bed pillow", "sleeping pillow"), ("memory foam", "down", "polyester fill"), ("standard", "queen", "king"), (15, 120), "Supportive loft for back, side and stomach sleepers."),
    Leaf("Home > Furniture > Sofas", "sofa", ("couch", "settee"), ("fabric", "leather", "velvet"), ("2 seat", "3 seat", "sectional"), (300, 2500), "Deep seats and removable, washable cushion covers."),
    Leaf("Home > Lighting > Desk Lamps", "desk lamp", ("table lamp", "reading lamp"), ("metal", "wood", "plastic"), ("small", "standard", "tall"), (15, 150), "Dimmable LED light with an adjustable arm."),
    Leaf("Sports > Fitness > Yoga Mats", "yoga mat", ("exercise mat", "fitness mat"), ("rubber", "tpe", "cork", "pvc"), ("4mm", "6mm", "8mm"), (15, 120), "Non-slip texture on both sides and a carry strap."),
    Leaf("Sports > Fitness > Dumbbells", "dumbbells", ("hand weights", "free weights"), ("cast iron", "neoprene", "rubber"), ("5 lb", "10 lb", "20 lb"), (15, 200), "Hexagonal heads stop them rolling away."),
    Leaf("Sports > Outdoor > Tents", "tent", ("camping tent", "dome shelter"), ("nylon", "polyester", "canvas"), ("2 person", "4 person", "6 person"), (60, 600), "Sets up in five minutes with colour-coded poles."),
    Leaf("Sports > Outdoor > Water Bottles", "water bottle", ("drink bottle", "flask"), ("stainless steel", "plastic", "glass"), ("500ml", "750ml", "1L"), (8, 50), "Double-wall insulation keeps drinks cold for 24 hours."),
    Leaf("Beauty > Skincare > Moisturizers", "moisturizer", ("face cream", "face lotion"), ("hyaluronic acid", "shea butter", "aloe vera"), ("50ml", "100ml"), (8, 90), "Lightweight hydration that absorbs without residue."),
    Leaf("Beauty > Hair Care > Shampoo", "shampoo", ("hair wash", "hair cleanser"), ("argan oil", "tea tree", "coconut"), ("250ml", "500ml"), (5, 40), "Sulfate free and gentle enough for daily use."),
)

# Symmetric pairs of leaves whose products complement each other (ESCI label 1).
COMPLEMENTS: tuple[tuple[str, str], ...] = (
    ("Phone Cases", "Chargers"), ("Coffee Makers", "Mugs"), ("Bed Sheets", "Pillows"),
    ("Running Shoes", "Water Bottles"), ("Laptop Sleeves", "Mice"), ("Keyboards", "Mice"),
    ("Tents", "Water Bottles"), ("Yoga Mats", "Dumbbells"), ("Jeans", "T-Shirts"),
    ("Dresses", "Sandals"), ("Shampoo", "Moisturizers"), ("Sofas", "Desk Lamps"),
    ("Headphones", "Chargers"), ("Backpacks", "Laptop Sleeves"), ("Jackets", "Boots"),
    ("Frying Pans", "Coffee Makers"), ("Hoodies", "Shorts"), ("Watches", "Sunglasses"),
    ("Wallets", "Backpacks"), ("Speakers", "Chargers"),
)

COLORS = ("black", "white", "navy", "grey", "red", "green", "blue", "beige", "brown", "pink", "olive", "yellow", "purple", "orange")
ADJECTIVES = ("Classic", "Essential", "Pro", "Ultra", "Everyday", "Premium", "Lite", "Heritage", "Urban", "Trail", "Studio", "Signature")
BRANDS = (
    "Northpeak", "Lumora", "Velora", "Brightfield", "Oakhaven", "Kestrel", "Solenne", "Arcwell", "Tidewater", "Marrow & Co",
    "Fernbrook", "Quillon", "Halden", "Nimbus", "Corvale", "Ashby", "Redwick", "Silvane", "Pemberly", "Zephra",
    "Driftwood", "Calloway", "Everline", "Monarch Lane", "Orrin", "Bramble", "Truvo", "Westgate", "Aurelo", "Stonecrest",
    "Pinewell", "Lakely", "Juniper Row", "Voss", "Greyfield", "Cobaltia",
)
LOCALES = ("en-US", "en-US", "en-US", "en-GB", "en-CA", None)
# Marketplace titles stuff these between the product name and its variant ("..., Lightweight and
# Durable, Perfect Gift for Birthday - Navy, M"): long, and alike across categories.
SELLING_POINTS = (
    "Lightweight and Durable", "Premium Quality Everyday Essential", "Soft Comfortable Breathable",
    "Easy to Clean and Care For", "Modern Classic Design", "Perfect Gift for Birthday Christmas Holidays",
    "Ideal for Home Office Travel Outdoor Use", "Long Lasting Everyday Use", "New Upgraded Version",
    "Suitable for Men Women Adults", "Stylish Minimalist Look", "Great Value Pack of 1",
)

# Derived from the lists above: a leaf's index by name, and the leaves each one complements.
LEAF_INDEX = {leaf.name: i for i, leaf in enumerate(LEAVES)}
COMPLEMENT_OF: dict[str, set] = {}
for _a, _b in COMPLEMENTS:
    COMPLEMENT_OF.setdefault(_a, set()).add(_b)
    COMPLEMENT_OF.setdefault(_b, set()).add(_a)
