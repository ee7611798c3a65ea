"""The shop's assortment: five categories, nine product types each, their attribute and option pools.

Pure data, read by :mod:`envs.shop_catalogue` to generate the 1,260 products.
"""
from __future__ import annotations

from typing import NamedTuple


class ProductType(NamedTuple):
    name: str  # lower case, used as the product's ``query``
    subcategory: str  # second breadcrumb level; types sharing it count as a category match in the reward
    descriptors: tuple[str, ...]  # title words that vary between products of one type
    options: dict[str, tuple[str, ...]]  # option name -> pool of values
    price_range: tuple[float, float]
    attributes: tuple[str, ...] = ()  # this type's attribute pool; empty = the category's pool


class CategorySpec(NamedTuple):
    name: str
    root: str  # first breadcrumb level
    brands: tuple[str, ...]
    attributes: tuple[str, ...]  # default attribute pool of the category's types
    types: tuple[ProductType, ...]


_TOPS = ("machine washable", "quick drying", "moisture wicking", "long sleeve", "slim fit", "relaxed fit",
         "hand wash only")
_BOTTOMS = ("machine washable", "quick drying", "moisture wicking", "elastic waistband", "button closure",
            "slim fit", "relaxed fit", "hand wash only")
_OUTERWEAR = ("machine washable", "water resistant", "quick drying", "button closure", "long sleeve",
              "relaxed fit", "zipper closure")
_SHOES = ("non slip", "rubber sole", "water resistant", "machine washable", "arch support", "lightweight design")
_FURNITURE = ("easy to clean", "easy assembly", "space saving", "solid wood", "metal frame", "storage space",
              "mid century", "heavy duty", "living room", "anti scratch")
_AUDIO = ("noise cancelling", "water resistant", "long battery life", "easy to carry", "hands free",
          "stereo sound", "fast charging")
_CHARGING = ("fast charging", "high speed", "easy to carry", "wireless charging", "plug and play",
             "aluminum alloy")

# Vocabularies. Attribute phrases must not occur inside any other text of a product that lacks them (checked in
# _check_attribute_text), because WebShop's attribute reward also credits a goal attribute found in the title,
# bullet points or description.
CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "beauty", "Beauty & Personal Care",
        ("Earth Mama", "Glow Theory", "Luma", "Pure Petal", "Velvetine", "Dr Brandt", "Aveline", "Oakwell",
         "Naturelle", "Bloomi", "Sol de Vida", "Kiehna", "Maple Hill", "Cora", "Selva", "Bright Bee"),
        ("long lasting", "paraben free", "cruelty free", "sulfate free", "easy to use", "dermatologist tested",
         "natural ingredients", "sensitive skin", "dry skin", "non toxic", "travel friendly", "vegan formula"),
        (
            ProductType("deodorant", "Personal Care", ("Bright Citrus", "Aluminum Free", "Daily", "Clinical"),
                        {"scent": ("bright citrus", "lavender", "unscented", "fresh rain", "cedar and sage"),
                         "size": ("2.6 ounce", "3 ounce (pack of 2)", "5 ounce")}, (6, 24)),
            ProductType("shampoo", "Hair Care", ("Repair", "Volumizing", "Clarifying", "Hydrating", "Daily"),
                        {"scent": ("coconut", "argan oil", "tea tree", "rosemary mint"),
                         "size": ("8.5 fl oz", "16 fl oz", "33.8 fl oz")}, (7, 38)),
            ProductType("conditioner", "Hair Care", ("Repair", "Smoothing", "Leave In", "Hydrating"),
                        {"scent": ("coconut", "argan oil", "almond", "green apple"),
                         "size": ("8 fl oz", "12 fl oz", "25 fl oz")}, (7, 36)),
            ProductType("lipstick", "Makeup", ("Matte", "Satin", "Velvet", "Creamy", "Sheer"),
                        {"color": ("ruby red", "nude pink", "berry", "coral", "mauve", "deep plum")}, (5, 29)),
            ProductType("nail polish", "Makeup", ("Gel", "Quick Dry", "Glossy", "Chip Resistant"),
                        {"color": ("cherry red", "ballet pink", "midnight blue", "sage green", "glitter gold")},
                        (4, 19)),
            ProductType("face moisturizer", "Skin Care", ("Daily", "Overnight", "Oil Free", "Hyaluronic"),
                        {"size": ("1.7 ounce", "2.5 ounce", "3.4 ounce")}, (9, 58)),
            ProductType("sunscreen lotion", "Skin Care", ("Mineral", "Sport", "Sheer", "Tinted"),
                        {"size": ("3 fl oz", "6 fl oz", "8 fl oz"), "spf": ("spf 30", "spf 50", "spf 70")},
                        (8, 32)),
            ProductType("body wash", "Personal Care", ("Foaming", "Exfoliating", "Creamy", "Gentle"),
                        {"scent": ("eucalyptus", "vanilla", "oatmeal", "ocean breeze"),
                         "size": ("16 fl oz", "22 fl oz", "32 fl oz (pack of 2)")}, (6, 27)),
            ProductType("eyeshadow palette", "Makeup", ("Shimmer", "Matte", "Pro", "Mini"),
                        {"color": ("warm neutrals", "smoky", "rose gold", "jewel tones")}, (9, 48)),
        ),
    ),
    CategorySpec(
        "grocery", "Grocery & Gourmet Food",
        ("Nature's Crest", "Kind Fields", "Grain Story", "Happy Harvest", "Mountain Peak", "Blue Orchard",
         "Sunny Acres", "Old Mill", "Greenway", "Lotus Valley", "Prairie Gold", "Tasty Trail", "Urban Pantry",
         "Wild Root", "Hearth", "Copper Kettle"),
        ("gluten free", "sugar free", "non gmo", "low carb", "keto friendly", "high protein", "dairy free",
         "ready to eat", "certified organic", "individually wrapped", "low calorie", "plant based"),
        (
            ProductType("protein bar", "Snacks", ("Crunchy", "Chewy", "Double Layer", "Baked", "Soft"),
                        {"flavor": ("chocolate", "peanut butter", "cookies and cream", "vanilla almond",
                                    "salted caramel"),
                         "size": ("12 count", "24 count", "6 count")}, (9, 38)),
            ProductType("beef jerky", "Snacks", ("Smoked", "Thick Cut", "Tender", "Original Recipe"),
                        {"flavor": ("teriyaki", "original", "peppered", "sweet and spicy", "hickory"),
                         "size": ("3.25 ounce", "10 ounce", "16 ounce")}, (7, 34)),
            ProductType("trail mix", "Snacks", ("Mountain", "Tropical", "Classic", "Deluxe"),
                        {"flavor": ("sweet and salty", "dark chocolate nut", "berry blend", "honey roasted"),
                         "size": ("6 ounce", "26 ounce", "pack of 12")}, (5, 28)),
            ProductType("ground coffee", "Beverages", ("Bold", "Smooth", "Single Origin", "Breakfast Blend"),
                        {"flavor": ("dark roast", "medium roast", "french vanilla", "hazelnut"),
                         "size": ("12 ounce", "2 pound", "32 ounce")}, (7, 36)),
            ProductType("green tea", "Beverages", ("Loose Leaf", "Matcha", "Sencha", "Herbal"),
                        {"flavor": ("jasmine", "mint", "lemon ginger", "pure green"),
                         "size": ("20 count", "40 count", "100 count")}, (4, 22)),
            ProductType("pasta sauce", "Pantry Staples", ("Homestyle", "Chunky", "Slow Simmered", "Classic"),
                        {"flavor": ("marinara", "tomato basil", "roasted garlic", "arrabbiata"),
                         "size": ("24 ounce", "pack of 2", "pack of 6")}, (4, 26)),
            ProductType("granola", "Breakfast Foods", ("Crunchy", "Clusters", "Ancient Grain", "Maple"),
                        {"flavor": ("honey almond", "blueberry", "cinnamon", "coconut cashew"),
                         "size": ("11 ounce", "22 ounce", "pack of 4")}, (5, 24)),
            ProductType("dark chocolate", "Sweets", ("Bittersweet", "Single Origin", "Artisan", "Thin"),
                        {"flavor": ("sea salt", "raspberry", "orange", "almond crunch"),
                         "size": ("3.5 ounce", "pack of 4", "pack of 12")}, (4, 32)),
            ProductType("olive oil", "Pantry Staples", ("Extra Virgin", "Cold Pressed", "Estate", "Light"),
                        {"size": ("16.9 fl oz", "33.8 fl oz", "101 fl oz")}, (9, 45)),
        ),
    ),
    CategorySpec(
        "fashion", "Clothing, Shoes & Jewelry",
        ("Northline", "Urban Thread", "Coastal Co", "Fieldstone", "Riverbend", "Ashford", "Pinecrest", "Mode Nine",
         "Harbor Lane", "Summit", "Kestrel", "Lark and Oak", "Tidewater", "Brightside", "Foxglove", "Ironwood"),
        ("machine washable", "quick drying", "moisture wicking", "button closure", "elastic waistband",
         "long sleeve", "slim fit", "relaxed fit", "hand wash only", "non slip", "rubber sole", "water resistant"),
        (
            ProductType("men's t-shirt", "Men", ("Crew Neck", "V Neck", "Pocket", "Graphic", "Henley"),
                        {"size": ("small", "medium", "large", "x-large", "xx-large"),
                         "color": ("black", "navy blue", "heather grey", "white", "olive green")}, (8, 32), _TOPS),
            ProductType("women's leggings", "Women", ("High Waist", "Yoga", "Capri", "Fleece Lined"),
                        {"size": ("x-small", "small", "medium", "large", "x-large"),
                         "color": ("black", "charcoal", "burgundy", "dusty rose", "forest green")}, (12, 39), _BOTTOMS),
            ProductType("running shoes", "Shoes", ("Lightweight", "Trail", "Cushioned", "Road"),
                        {"size": ("7", "8", "9", "10", "11", "12"),
                         "color": ("black white", "grey", "royal blue", "neon yellow")}, (35, 130), _SHOES),
            ProductType("hoodie", "Men", ("Pullover", "Zip Up", "Fleece", "Oversized"),
                        {"size": ("small", "medium", "large", "x-large"),
                         "color": ("black", "oatmeal", "maroon", "sky blue")}, (18, 60), _TOPS),
            ProductType("denim jeans", "Women", ("Skinny", "Bootcut", "Straight Leg", "Mom"),
                        {"size": ("24", "26", "28", "30", "32"),
                         "color": ("light wash", "dark wash", "black denim")}, (22, 79), _BOTTOMS),
            ProductType("rain jacket", "Women", ("Packable", "Hooded", "Lightweight", "Windbreaker"),
                        {"size": ("small", "medium", "large", "x-large"),
                         "color": ("yellow", "navy", "olive", "red")}, (30, 120), _OUTERWEAR),
            ProductType("crew socks", "Men", ("Cushioned", "Athletic", "Wool", "Ankle"),
                        {"size": ("shoe size 6-9", "shoe size 9-12", "shoe size 12-15"),
                         "color": ("white", "black", "assorted")}, (9, 29),
                        ("machine washable", "moisture wicking", "quick drying", "arch support")),
            ProductType("baseball cap", "Accessories", ("Classic", "Trucker", "Dad Hat", "Snapback"),
                        {"color": ("khaki", "black", "navy", "camo", "pink")}, (9, 28),
                        ("machine washable", "quick drying", "water resistant", "adjustable strap")),
            ProductType("slip on sneakers", "Shoes", ("Canvas", "Knit", "Memory Foam", "Classic"),
                        {"size": ("6", "7", "8", "9", "10"),
                         "color": ("white canvas", "black canvas", "taupe", "light blue")}, (20, 70), _SHOES),
        ),
    ),
    CategorySpec(
        "furniture", "Home & Kitchen",
        ("Walker Edison", "Oak Lane", "Homestead", "Nordic Nest", "Timberline", "Casa Bella", "Loft Works",
         "Meadow Home", "Greyson", "Birchwood", "Hearthstone", "Modway", "Cedar Row", "Alder Co", "Haven",
         "Stonebridge"),
        ("easy to clean", "easy assembly", "space saving", "solid wood", "metal frame", "storage space",
         "mid century", "heavy duty", "living room", "anti scratch", "adjustable height", "lumbar support"),
        (
            ProductType("bookshelf", "Furniture", ("Industrial", "Ladder", "Corner", "Cube", "Open"),
                        {"color": ("espresso", "white oak", "rustic brown", "grey wash"),
                         "size": ("3 tier", "4 tier", "5 tier")}, (39, 180), _FURNITURE),
            ProductType("office chair", "Furniture", ("Ergonomic", "Mesh", "Executive", "Task"),
                        {"color": ("black mesh", "grey fabric", "brown leather", "white")}, (59, 260),
                        _FURNITURE + ("adjustable height", "lumbar support")),
            ProductType("coffee table", "Furniture", ("Round", "Lift Top", "Farmhouse", "Glass Top"),
                        {"color": ("walnut", "natural oak", "black metal", "rustic grey")}, (49, 230), _FURNITURE),
            ProductType("nightstand", "Furniture", ("Two Drawer", "Floating", "Modern", "Rattan"),
                        {"color": ("white", "espresso", "natural", "sage"),
                         "size": ("set of 1", "set of 2")}, (35, 150), _FURNITURE),
            ProductType("tv stand", "Furniture", ("Media Console", "Farmhouse", "Corner", "Low Profile"),
                        {"color": ("black oak", "white", "walnut brown"),
                         "size": ("55 inch", "65 inch", "75 inch")}, (69, 290), _FURNITURE),
            ProductType("bar stool", "Kitchen Furniture", ("Swivel", "Backless", "Counter Height", "Upholstered"),
                        {"color": ("black", "cream", "cognac", "charcoal"),
                         "size": ("set of 2", "set of 3", "set of 4")}, (59, 240), _FURNITURE),
            ProductType("shoe rack", "Storage", ("Stackable", "Bamboo", "Entryway", "Narrow"),
                        {"color": ("natural bamboo", "black", "white"),
                         "size": ("3 tier", "5 tier", "8 tier")}, (19, 79), _FURNITURE),
            ProductType("storage ottoman", "Storage", ("Folding", "Tufted", "Round", "Cube"),
                        {"color": ("linen beige", "navy velvet", "dark grey", "faux leather brown")},
                        (25, 110), _FURNITURE),
            ProductType("writing desk", "Furniture", ("Compact", "L Shaped", "Standing", "Computer"),
                        {"color": ("walnut", "white", "black", "oak"),
                         "size": ("40 inch", "47 inch", "55 inch")}, (59, 280), _FURNITURE + ("adjustable height",)),
        ),
    ),
    CategorySpec(
        "electronics", "Electronics",
        ("Anker Bay", "Soundcore One", "Voltix", "Nexa", "Belkor", "Zentra", "Aukee", "Lumio", "Pixelon",
         "Trekk", "Orbital", "Skyline Tech", "Quanta", "Jolt", "Kinetik", "Ravi"),
        ("fast charging", "high speed", "noise cancelling", "water resistant", "long battery life",
         "easy to carry", "wireless charging", "hands free", "plug and play", "high definition",
         "aluminum alloy", "stereo sound"),
        (
            ProductType("bluetooth headphones", "Headphones", ("Over Ear", "On Ear", "Sport", "Studio"),
                        {"color": ("black", "white", "midnight blue", "rose gold")}, (19, 150), _AUDIO),
            ProductType("wireless earbuds", "Headphones", ("True Wireless", "Mini", "Pro", "Open Ear"),
                        {"color": ("black", "white", "sage", "lavender")}, (15, 120), _AUDIO),
            ProductType("portable charger", "Phone Accessories", ("Slim", "Compact", "Magnetic", "Solar"),
                        {"capacity": ("5000mah", "10000mah", "20000mah", "26800mah"),
                         "color": ("black", "white", "blue")}, (12, 60), _CHARGING),
            ProductType("usb c cable", "Computer Accessories", ("Braided", "Right Angle", "Coiled", "Flat"),
                        {"size": ("3 ft", "6 ft", "10 ft"), "color": ("black", "white", "red", "grey")},
                        (5, 22), _CHARGING),
            ProductType("wireless mouse", "Computer Accessories", ("Ergonomic", "Silent", "Vertical", "Travel"),
                        {"color": ("black", "white", "pink", "grey")}, (9, 49)),
            ProductType("phone case", "Phone Accessories", ("Clear", "Rugged", "Wallet", "Ultra Thin"),
                        {"model": ("iphone 14", "iphone 15 pro", "galaxy s23", "pixel 8"),
                         "color": ("clear", "black", "purple", "green")}, (7, 35)),
            ProductType("hdmi cable", "Computer Accessories", ("4K", "8K", "Braided", "Flat"),
                        {"size": ("3 ft", "6 ft", "15 ft"), "pack": ("1 pack", "2 pack")}, (6, 28)),
            ProductType("bluetooth speaker", "Speakers", ("Portable", "Outdoor", "Mini", "Party"),
                        {"color": ("black", "teal", "red", "camo")}, (19, 130), _AUDIO),
            ProductType("smart watch band", "Wearables", ("Silicone", "Nylon Loop", "Leather", "Metal Link"),
                        {"size": ("38mm", "41mm", "45mm"), "color": ("black", "starlight", "navy", "olive")},
                        (6, 30)),
        ),
    ),
)
CATEGORY_NAMES = tuple(c.name for c in CATEGORIES)
ALL_ATTRIBUTES = tuple(sorted({a for c in CATEGORIES for t in c.types for a in (t.attributes or c.attributes)}))
