/* gen_tables.h — the calibrated tables behind gen.c, private to the generator
 * and its test (which checks the stream against them).
 *
 * Measured on 2026-11-26 with python3's csv module over the data sets in the
 * team's shared data folder (its README names sources and licences). The
 * product never reads that folder: these numbers are all it keeps. Where no
 * data exists a value is marked "chosen" with the reason.
 *
 * Weights are relative integers; a row's share is its weight over the table's
 * sum. Every string is ASCII, lower case where rules compare it. */
#ifndef LEADOPS_GEN_TABLES_H
#define LEADOPS_GEN_TABLES_H

#include <stdint.h>

/* --- Lead sources ----------------------------------------------------------
 * xeducation/Leads.csv `Lead Source` (9,204 non-empty rows, 38.4% converted)
 * and olist_mql/olist_marketing_qualified_leads_dataset.csv `origin` (6,841
 * rows without "unknown"/empty; a lead converted when its mql_id is in
 * olist_closed_deals_dataset.csv, 9.5%), mapped onto one vocabulary:
 *   X Education: Google, google, bing, Pay per Click Ads -> paid_search;
 *   Olark Chat, Live Chat -> chat; Reference, Referral Sites -> referral;
 *   Welingak Website, WeLearn, welearnblog_Home -> partner; Facebook,
 *   Social Media, youtubechannel -> social; NC_EDM -> email; the rest -> other.
 *   Olist: other_publicities -> other.
 * weight = mean of the two data sets' shares, in 1/10,000.
 * conversion_index = a source's conversion rate over its data set's overall
 * rate, averaged over the data sets where the source has >= 30 leads (1.0 =
 * average). Rates (X Education / Olist): paid_search 39.9%/12.3%,
 * organic_search 37.8%/11.8%, direct_traffic 32.2%/11.2%, social -/5.6%,
 * chat 25.6%/-, referral 79.1%/8.5%, email -/3.0%, other -/3.3%,
 * display -/5.1%, partner 97.9%/-. The generator opens opportunities (and
 * so wins deals) for a source's leads in proportion to this index. */
typedef struct {
    uint32_t weight;
    const char *name;
    double conversion_index;
    const char *campaigns[3]; /* drawn uniformly; "" = no campaign (chosen names) */
} gen_source_row_t;

static const gen_source_row_t s_sources[] = {
    {2724, "paid_search", 1.17, {"brand-search", "competitor-search", "generic-search"}},
    {2305, "organic_search", 1.11, {"", "", "blog-seo"}},
    {1746, "direct_traffic", 1.01, {"", "", ""}},
    {1018, "social", 0.61, {"linkedin-abm", "linkedin-lead-gen", "facebook-retargeting"}},
    {954, "chat", 0.67, {"", "", "website-chat"}},
    {566, "referral", 1.48, {"customer-referral", "customer-referral", ""}},
    {361, "email", 0.32, {"newsletter", "nurture-track", "webinar-invite"}},
    {161, "other", 0.34, {"", "trade-show", "press-release"}},
    {86, "display", 0.54, {"display-prospecting", "display-retargeting", ""}},
    {78, "partner", 2.55, {"partner-program", "partner-program", "marketplace-listing"}},
};

/* --- Activity mix ----------------------------------------------------------
 * Expected events per 10,000 leads over a lead's life; rows may share a type
 * (a second channel). step orders the sales funnel (see gen.c).
 * - page_view: xeducation `TotalVisits` mean 3.445 (9,103 rows), one event
 *   per visit; `Page Views Per Visit` (mean 2.36) is folded into the visit.
 * - pricing_view: visits with `Page Views Per Visit` >= 5 (12.6% of rows)
 *   stand in for pricing-page visits: 3.445 * 0.126.
 * - content_download: `A free copy of Mastering The Interview` = Yes, 2,888.
 * - email_open 3,437, email_click 267+6 ("View in browser link Clicked"),
 *   email_bounce 326, unsubscribe 61, form_fill 428 "Converted to Lead" + 116
 *   "Form Submitted" (web) and 973 "Olark Chat Conversation" (chat),
 *   email_sent 2,745 "SMS Sent" (the outbound rep message): `Last Activity`
 *   counts per 9,240 leads. One last activity per lead makes these lower
 *   bounds, which keeps page views the bulk of the stream, as in practice.
 * - demo_request: `Lead Origin` = "Lead Add Form", 718 (92% of them convert).
 * - Funnel: deal_won = Olist 842 deals / 8,000 MQLs = 10.5% of leads; the
 *   rest keeps maven_crm/sales_pipeline.csv `deal_stage` ratios: 8,800
 *   opportunities, 8,300 past Prospecting (proposal_sent), 4,238 Won,
 *   2,473 Lost (won share 63.2%).
 * - call, meeting, demo_completed, webinar: chosen (no data): SDR cadences
 *   alternate calls with messages, about one meeting per opportunity. */
typedef enum {
    GEN_STEP_NONE = 0, /* not a funnel step */
    GEN_STEP_OPEN,     /* opportunity_created: lead enters the funnel */
    GEN_STEP_PROPOSE,  /* proposal_sent: needs an open opportunity */
    GEN_STEP_WIN,      /* deal_won: needs a proposal; closes the funnel */
    GEN_STEP_LOSE,     /* deal_lost: needs a proposal; closes the funnel */
} gen_step_t;

typedef struct {
    uint32_t weight;
    const char *type;
    const char *channel;
    int is_sales; /* done by a rep: carries rep_id */
    gen_step_t step;
} gen_activity_row_t;

static const gen_activity_row_t s_activities[] = {
    {34452, "page_view", "web", 0, GEN_STEP_NONE},
    {4356, "pricing_view", "web", 0, GEN_STEP_NONE},
    {3126, "content_download", "web", 0, GEN_STEP_NONE},
    {3720, "email_open", "email", 0, GEN_STEP_NONE},
    {295, "email_click", "email", 0, GEN_STEP_NONE},
    {353, "email_bounce", "email", 0, GEN_STEP_NONE},
    {66, "unsubscribe", "email", 0, GEN_STEP_NONE},
    {589, "form_fill", "web", 0, GEN_STEP_NONE},
    {1053, "form_fill", "chat", 0, GEN_STEP_NONE},
    {777, "demo_request", "web", 0, GEN_STEP_NONE},
    {500, "webinar", "event", 0, GEN_STEP_NONE},
    {2971, "email_sent", "email", 1, GEN_STEP_NONE},
    {3000, "call", "phone", 1, GEN_STEP_NONE},
    {2500, "meeting", "video", 1, GEN_STEP_NONE},
    {1500, "demo_completed", "video", 1, GEN_STEP_NONE},
    {2185, "opportunity_created", "crm", 1, GEN_STEP_OPEN},
    {2061, "proposal_sent", "email", 1, GEN_STEP_PROPOSE},
    {1053, "deal_won", "crm", 1, GEN_STEP_WIN},
    {614, "deal_lost", "crm", 1, GEN_STEP_LOSE},
};

/* Share of calls that reached the lead: xeducation `Last Activity` "Had a
 * Phone Conversation" 30 + "Approached upfront" 9 over those plus
 * "Unreachable" 93. */
static const double s_call_connected_share = 39.0 / 132.0;

/* --- Deals -----------------------------------------------------------------
 * maven_crm/products.csv `sales_price` (USD) weighted by the number of
 * opportunities per product in sales_pipeline.csv `product` ("GTXPro" there
 * is "GTX Pro"). An opportunity is worth the list price; a proposal and a won
 * deal are worth price * ratio, ratio ~ normal(mean, sd) clipped to
 * [min, max]: close_value / sales_price over the 4,238 won deals. */
typedef struct {
    uint32_t weight;
    const char *name;
    double price;
} gen_product_row_t;

static const gen_product_row_t s_products[] = {
    {1866, "GTX Basic", 550},    {1651, "MG Special", 55},       {1480, "GTX Pro", 4821},
    {1412, "MG Advanced", 3393}, {1383, "GTX Plus Basic", 1096}, {968, "GTX Plus Pro", 5482},
    {40, "GTK 500", 26768},
};

static const double s_close_ratio_mean = 0.9965;
static const double s_close_ratio_sd = 0.0988;
static const double s_close_ratio_min = 0.657;
static const double s_close_ratio_max = 1.342;

/* Rep ids for sales activities: the 30 `sales_agent`s of
 * maven_crm/sales_pipeline.csv as "rep-<first name>", the convention of the
 * sample configuration (whose reps are among them). */
static const char *const s_reps[] = {
    "rep-anna",   "rep-boris",    "rep-cassey", "rep-cecily", "rep-corliss", "rep-daniell",
    "rep-darcel", "rep-donn",     "rep-elease", "rep-garret", "rep-gladys",  "rep-hayden",
    "rep-james",  "rep-jonathan", "rep-kami",   "rep-kary",   "rep-lajuana", "rep-markita",
    "rep-marty",  "rep-maureen",  "rep-moses",  "rep-niesha", "rep-reed",    "rep-rosalina",
    "rep-rosie",  "rep-versie",   "rep-vicki",  "rep-violet", "rep-wilburn", "rep-zane",
};

/* --- Firmographics ---------------------------------------------------------
 * Industries: maven_crm/accounts.csv `sector` counts over 85 accounts, with
 * "technolgy" normalized to "technology". fintech: chosen (not in the data;
 * the sample scoring rules target it). */
typedef struct {
    uint32_t weight;
    const char *name;
} gen_name_row_t;

static const gen_name_row_t s_industries[] = {
    {17, "retail"},  {12, "technology"}, {12, "medical"},      {8, "marketing"},
    {8, "finance"},  {7, "software"},    {6, "entertainment"}, {6, "telecommunications"},
    {5, "services"}, {4, "employment"},  {4, "fintech"},
};

/* Company size: maven_crm/accounts.csv `employees` (85 accounts, 9 ..
 * 34,288, median 2,641) counted in bins; drawn uniformly inside a bin. The
 * accounts are customers of an enterprise seller, so small firms are rare. */
typedef struct {
    uint32_t weight;
    uint32_t min;
    uint32_t max;
} gen_size_row_t;

static const gen_size_row_t s_company_sizes[] = {
    {1, 5, 49},       {1, 50, 99},      {5, 100, 249},    {4, 250, 499},     {7, 500, 999},
    {22, 1000, 2499}, {18, 2500, 4999}, {18, 5000, 9999}, {6, 10000, 19999}, {3, 20000, 35000},
};

/* Annual revenue per employee, USD: deciles (0%, 10% .. 100%) of
 * maven_crm/accounts.csv `revenue` (millions USD) * 1e6 / `employees`;
 * mean 486,024. A lead's revenue is its size times a draw from these. */
static const double s_revenue_per_employee_deciles[11] = {
    273103, 315444, 332522, 369584, 393122, 433142, 475588, 544158, 591179, 726956, 1181803,
};

/* --- Geography -------------------------------------------------------------
 * Zone shares are chosen (40% EMEA, 40% Americas, 20% elsewhere, the
 * product's target markets); the data only shape the mix inside a zone:
 * maven_crm/accounts.csv `office_location` is 71/85 United States (so US
 * dominates the Americas, and Norway, Romania, Poland, Italy, Germany,
 * Belgium, Brazil, Japan, Korea, China, Philippines appear), and xeducation
 * `Country` is India first, then UAE, Singapore, UK, Australia. Weights are
 * per 1,000 leads. dial, language (BCP 47), tld and legal form make phones,
 * emails and company names look local (chosen). */
typedef enum { GEN_ZONE_EMEA = 0, GEN_ZONE_AMERICAS, GEN_ZONE_OTHER } gen_zone_t;

typedef struct {
    uint32_t weight;
    const char *code;
    gen_zone_t zone;
    const char *dial;
    const char *language;
    const char *tld;
    const char *legal_form;
} gen_country_row_t;

static const gen_country_row_t s_countries[] = {
    {80, "GB", GEN_ZONE_EMEA, "44", "en", "co.uk", "Ltd"},
    {80, "DE", GEN_ZONE_EMEA, "49", "de", "de", "GmbH"},
    {50, "FR", GEN_ZONE_EMEA, "33", "fr", "fr", "SAS"},
    {30, "NL", GEN_ZONE_EMEA, "31", "nl", "nl", "B.V."},
    {30, "ES", GEN_ZONE_EMEA, "34", "es", "es", "S.L."},
    {30, "IT", GEN_ZONE_EMEA, "39", "it", "it", "S.r.l."},
    {20, "SE", GEN_ZONE_EMEA, "46", "sv", "se", "AB"},
    {20, "PL", GEN_ZONE_EMEA, "48", "pl", "pl", "Sp. z o.o."},
    {15, "IE", GEN_ZONE_EMEA, "353", "en", "ie", "Ltd"},
    {10, "BE", GEN_ZONE_EMEA, "32", "fr", "be", "SA"},
    {10, "CH", GEN_ZONE_EMEA, "41", "de", "ch", "AG"},
    {5, "AT", GEN_ZONE_EMEA, "43", "de", "at", "GmbH"},
    {5, "PT", GEN_ZONE_EMEA, "351", "pt", "pt", "Lda"},
    {5, "NO", GEN_ZONE_EMEA, "47", "nb", "no", "AS"},
    {5, "RO", GEN_ZONE_EMEA, "40", "ro", "ro", "SRL"},
    {5, "AE", GEN_ZONE_EMEA, "971", "en", "ae", "LLC"},
    {300, "US", GEN_ZONE_AMERICAS, "1", "en", "com", "Inc."},
    {40, "CA", GEN_ZONE_AMERICAS, "1", "en", "ca", "Inc."},
    {30, "BR", GEN_ZONE_AMERICAS, "55", "pt", "com.br", "Ltda"},
    {20, "MX", GEN_ZONE_AMERICAS, "52", "es", "com.mx", "S.A. de C.V."},
    {5, "AR", GEN_ZONE_AMERICAS, "54", "es", "com.ar", "S.A."},
    {3, "CO", GEN_ZONE_AMERICAS, "57", "es", "com.co", "S.A.S."},
    {2, "CL", GEN_ZONE_AMERICAS, "56", "es", "cl", "SpA"},
    {80, "IN", GEN_ZONE_OTHER, "91", "en", "in", "Pvt Ltd"},
    {30, "AU", GEN_ZONE_OTHER, "61", "en", "com.au", "Pty Ltd"},
    {25, "SG", GEN_ZONE_OTHER, "65", "en", "sg", "Pte Ltd"},
    {25, "JP", GEN_ZONE_OTHER, "81", "ja", "jp", "K.K."},
    {10, "KR", GEN_ZONE_OTHER, "82", "ko", "kr", "Co., Ltd."},
    {10, "CN", GEN_ZONE_OTHER, "86", "zh", "cn", "Co., Ltd."},
    {10, "PH", GEN_ZONE_OTHER, "63", "en", "ph", "Inc."},
    {10, "HK", GEN_ZONE_OTHER, "852", "en", "hk", "Ltd"},
};

/* Cities per country. India: upgrad_mlops_leads/leadscoring_inference.csv
 * `city_mapped` counts (ncr = New Delhi). Elsewhere chosen: business
 * centres, equal weights. Every country above has at least one row. */
typedef struct {
    uint32_t weight;
    const char *country;
    const char *region;
    const char *city;
} gen_city_row_t;

static const gen_city_row_t s_cities[] = {
    {1, "GB", "England", "London"},
    {1, "GB", "England", "Manchester"},
    {1, "GB", "Scotland", "Edinburgh"},
    {1, "DE", "Berlin", "Berlin"},
    {1, "DE", "Bavaria", "Munich"},
    {1, "DE", "Hamburg", "Hamburg"},
    {1, "FR", "Ile-de-France", "Paris"},
    {1, "FR", "Auvergne-Rhone-Alpes", "Lyon"},
    {1, "NL", "North Holland", "Amsterdam"},
    {1, "NL", "South Holland", "Rotterdam"},
    {1, "ES", "Madrid", "Madrid"},
    {1, "ES", "Catalonia", "Barcelona"},
    {1, "IT", "Lombardy", "Milan"},
    {1, "IT", "Lazio", "Rome"},
    {1, "SE", "Stockholm", "Stockholm"},
    {1, "PL", "Masovia", "Warsaw"},
    {1, "PL", "Lesser Poland", "Krakow"},
    {1, "IE", "Leinster", "Dublin"},
    {1, "BE", "Brussels", "Brussels"},
    {1, "CH", "Zurich", "Zurich"},
    {1, "AT", "Vienna", "Vienna"},
    {1, "PT", "Lisbon", "Lisbon"},
    {1, "NO", "Oslo", "Oslo"},
    {1, "RO", "Bucharest", "Bucharest"},
    {1, "AE", "Dubai", "Dubai"},
    {1, "US", "California", "San Francisco"},
    {1, "US", "New York", "New York"},
    {1, "US", "Texas", "Austin"},
    {1, "US", "Illinois", "Chicago"},
    {1, "US", "Massachusetts", "Boston"},
    {1, "US", "Washington", "Seattle"},
    {1, "US", "Georgia", "Atlanta"},
    {1, "CA", "Ontario", "Toronto"},
    {1, "CA", "British Columbia", "Vancouver"},
    {1, "BR", "Sao Paulo", "Sao Paulo"},
    {1, "BR", "Rio de Janeiro", "Rio de Janeiro"},
    {1, "MX", "Mexico City", "Mexico City"},
    {1, "MX", "Jalisco", "Guadalajara"},
    {1, "AR", "Buenos Aires", "Buenos Aires"},
    {1, "CO", "Bogota", "Bogota"},
    {1, "CL", "Santiago", "Santiago"},
    {3715, "IN", "Delhi", "New Delhi"},
    {2299, "IN", "Maharashtra", "Mumbai"},
    {2089, "IN", "Karnataka", "Bengaluru"},
    {1449, "IN", "Telangana", "Hyderabad"},
    {1419, "IN", "Maharashtra", "Pune"},
    {1039, "IN", "Tamil Nadu", "Chennai"},
    {916, "IN", "West Bengal", "Kolkata"},
    {1, "AU", "New South Wales", "Sydney"},
    {1, "AU", "Victoria", "Melbourne"},
    {1, "SG", "Singapore", "Singapore"},
    {1, "JP", "Tokyo", "Tokyo"},
    {1, "JP", "Osaka", "Osaka"},
    {1, "KR", "Seoul", "Seoul"},
    {1, "CN", "Shanghai", "Shanghai"},
    {1, "CN", "Guangdong", "Shenzhen"},
    {1, "PH", "Metro Manila", "Manila"},
    {1, "HK", "Hong Kong", "Hong Kong"},
};

/* --- People ----------------------------------------------------------------
 * Job titles: chosen (no data): about a quarter senior, including the exact
 * titles the sample scoring rules reward. */
static const gen_name_row_t s_titles[] = {
    {40, "CEO"},
    {30, "Founder"},
    {30, "CTO"},
    {20, "CFO"},
    {30, "VP Sales"},
    {30, "VP Marketing"},
    {30, "Head of Sales"},
    {50, "Director"},
    {90, "Marketing Manager"},
    {80, "Sales Manager"},
    {60, "Product Manager"},
    {60, "IT Manager"},
    {60, "Operations Manager"},
    {80, "Software Engineer"},
    {80, "Analyst"},
    {60, "Consultant"},
    {50, "Account Executive"},
    {30, "Head of Marketing"},
    {30, "Procurement Manager"},
    {30, "HR Manager"},
    {30, "Office Manager"},
};

/* Share of leads on a free mail domain, and those domains: chosen (no
 * email data; about a fifth is typical of inbound B2B forms). */
static const double s_free_mail_share = 0.20;

static const gen_name_row_t s_free_mail_domains[] = {
    {60, "gmail.com"},
    {15, "outlook.com"},
    {15, "yahoo.com"},
    {10, "hotmail.com"},
};

/* Synthetic names: common given and family names from many countries,
 * combined at random, so no generated person matches a data row. */
static const char *const s_first_names[] = {
    "Anna",    "Lukas",  "Sofia", "Mateo", "Emma",   "Noah",  "Olivia", "Liam",   "Mia",    "Elias",
    "Chloe",   "Hugo",   "Lea",   "Leon",  "Clara",  "Marco", "Giulia", "Lars",   "Ingrid", "Jan",
    "Zofia",   "Aoife",  "Sean",  "Ines",  "Tiago",  "Priya", "Arjun",  "Ananya", "Rahul",  "Yuki",
    "Haruto",  "Wei",    "Mei",   "Grace", "Daniel", "Sarah", "James",  "Laura",  "Carlos", "Lucia",
    "Gabriel", "Camila", "Ethan", "Ava",   "Omar",   "Layla", "Kofi",   "Amara",
};

static const char *const s_last_names[] = {
    "Smith",  "Mueller",   "Martin",  "Garcia",  "Rossi",  "Jansen",  "Andersson", "Nowak",
    "Murphy", "Silva",     "Schmidt", "Dubois",  "Lopez",  "Bianchi", "Johansson", "Kowalski",
    "Kelly",  "Santos",    "Patel",   "Sharma",  "Iyer",   "Tanaka",  "Sato",      "Kim",
    "Chen",   "Wang",      "Nguyen",  "Brown",   "Wilson", "Taylor",  "Fischer",   "Weber",
    "Moreau", "Fernandez", "Romano",  "Berg",    "Byrne",  "Costa",   "Reddy",     "Suzuki",
    "Lee",    "Lim",       "Tan",     "Johnson", "Miller", "Davis",   "Novak",     "Haddad",
};

/* Synthetic company names: a prefix and a stem, e.g. "Novalogic GmbH". */
static const char *const s_company_prefixes[] = {
    "Nova",   "Blue",  "Vertex", "Quant", "Terra",  "Bright", "Ever",  "Apex",
    "Cobalt", "Lumen", "Orbit",  "Pine",  "Silver", "Stone",  "Zen",   "North",
    "Red",    "Clear", "Hyper",  "Swift", "Iron",   "Sky",    "Delta", "Polar",
};

static const char *const s_company_stems[] = {
    "soft", "labs", "works", "data", "logic", "tech",  "systems", "link",
    "core", "wave", "grid",  "path", "ware",  "cloud", "metrics", "scale",
};

/* --- Arrival pattern -------------------------------------------------------
 * upgrad_mlops_leads/leadscoring_inference.csv `created_date`, 24,991 leads
 * over 229 days (2021-07-01 .. 2022-02-14). The stamps are UTC (the trough
 * falls at 04:00 India time, not at 22:00), so they were shifted by +05:30 to
 * the leads' local time before counting per hour and per weekday. */
static const uint32_t s_arrivals_by_hour[24] = {
    706,  481,  236,  127,  95,   109,  234,  446,  697,  778,  1237, 1573,
    1528, 1337, 1202, 1262, 1210, 1236, 1297, 1779, 2134, 2238, 1708, 1341,
};

/* Monday first. */
static const uint32_t s_arrivals_by_weekday[7] = {3782, 3863, 3758, 3708, 3529, 3361, 2990};

#endif
