//! The built-in word lists of the default policy, per language.
//!
//! Entries use the pattern language of [`super::text::Pattern`]: `word*`
//! (prefix), `*word` (suffix), `..` (up to three words). They are written
//! without accents (matching folds both sides anyway). The configuration
//! overlays these per language: a language set in the config replaces that
//! language's built-in list, the others stay.

use std::collections::BTreeMap;

pub type Table = &'static [(&'static str, &'static [&'static str])];

/// Turns a built-in table into the owned map the policy works with.
pub fn lists(table: Table) -> BTreeMap<String, Vec<String>> {
    table
        .iter()
        .map(|(lang, words)| {
            (
                lang.to_string(),
                words.iter().map(|w| w.to_string()).collect(),
            )
        })
        .collect()
}

#[rustfmt::skip]
pub const NEGATIONS: Table = &[
    ("en", &[
        "not", "no", "never", "without",
    ]),
    ("de", &[
        "nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "ohne",
    ]),
    ("fr", &[
        "ne", "n", "pas", "jamais", "sans", "aucun", "aucune",
    ]),
    ("es", &[
        "no", "nunca", "jamas", "sin", "ningun", "ninguna", "ninguno",
    ]),
    ("nl", &[
        "niet", "geen", "nooit", "zonder",
    ]),
];

/// Words for a person on the team.
#[rustfmt::skip]
pub const PERSONS: Table = &[
    ("en", &[
        "human", "humans", "human being", "person", "persons", "people", "agent", "agents",
        "representative", "representatives", "rep", "operator", "operators", "someone", "somebody",
        "anyone", "anybody", "staff", "staff member", "team member", "employee", "employees", "manager",
        "supervisor", "advisor", "adviser", "consultant", "colleague", "customer service",
        "customer support", "customer care", "support team", "support staff", "service team",
        "live chat",
    ]),
    ("de", &[
        "mensch", "menschen", "person", "personen", "mitarbeiter", "mitarbeiterin", "mitarbeitern",
        "*mitarbeiter", "berater", "beraterin", "jemand", "jemanden", "jemandem", "kundenservice",
        "kundendienst", "ansprechpartner", "ansprechpartnerin", "sachbearbeiter", "sachbearbeiterin",
        "agent", "agenten", "operator", "vorgesetzten", "kundenbetreuer", "supportteam", "support team",
    ]),
    ("fr", &[
        "humain", "humains", "etre humain", "personne", "conseiller", "conseillere", "conseillers",
        "agent", "agents", "operateur", "operatrice", "quelqu un", "quelquun", "employe", "responsable",
        "interlocuteur", "service client", "service clientele", "technicien",
    ]),
    ("es", &[
        "humano", "humanos", "ser humano", "persona", "personas", "agente", "agentes", "operador",
        "operadora", "asesor", "asesora", "representante", "alguien", "empleado", "encargado",
        "supervisor", "atencion al cliente", "servicio al cliente",
    ]),
    ("nl", &[
        "mens", "persoon", "medewerker", "medewerkster", "*medewerker", "iemand", "agent", "operator",
        "klantenservice", "adviseur", "vertegenwoordiger", "echte mens",
    ]),
];

/// Verbs and phrases that ask for someone: "talk (to)", "I want", "connect me".
#[rustfmt::skip]
pub const VERBS: Table = &[
    ("en", &[
        "talk", "speak", "chat", "connect", "transfer", "put me through", "get me", "give me", "want",
        "need", "would like", "prefer", "request", "ask for", "looking for", "reach", "contact", "call",
        "call me back", "call back", "escalate", "hand me over", "pass me", "switch me",
    ]),
    ("de", &[
        "sprechen", "reden", "chatten", "schreiben", "verbinden", "verbunden", "weiterleiten",
        "weitergeleitet", "erreichen", "kontaktieren", "anrufen", "zuruckrufen", "will", "mochte",
        "brauche", "hatte gern", "hatte gerne", "wunsche", "verlange",
    ]),
    ("fr", &[
        "parler", "discuter", "contacter", "joindre", "mettre en relation", "mettez moi en relation",
        "transferer", "transferez", "passer", "passez", "veux", "voudrais", "aimerais", "souhaite",
        "souhaiterais", "besoin", "demande", "appeler", "rappeler",
    ]),
    ("es", &[
        "hablar", "contactar", "comunicarme", "conectar", "conectarme", "transferir", "pasar", "pasame",
        "paseme", "pasas", "pases", "pasen", "quiero", "quisiera", "necesito", "me gustaria", "deseo", "llamar", "llamame",
    ]),
    ("nl", &[
        "spreken", "praten", "hulp", "van", "chatten", "bereiken", "verbinden", "doorverbinden", "doorverbonden",
        "wil", "zou graag", "wens", "nodig", "bellen", "terugbellen", "contact",
    ]),
];

/// Words allowed between a request verb and the person ("talk *to a
/// real* person"): articles, prepositions, pronouns, modals, politeness.
#[rustfmt::skip]
pub const FILLERS: Table = &[
    ("en", &[
        "a", "an", "the", "to", "with", "me", "my", "i", "you", "your", "one", "of", "some", "any",
        "real", "actual", "live", "proper", "please", "pls", "plz", "now", "right", "just",
        "immediately", "asap", "can", "could", "may", "might", "will", "would", "here", "there", "is",
        "are", "from", "by", "help", "on", "thanks", "thank", "hey", "hello", "hi", "ok", "okay", "so",
        "then", "instead", "already", "again", "over", "directly", "who", "that", "whom", "we", "us",
        "our", "be", "able", "possible", "it", "let", "talk", "speak", "else", "other", "another", "in",
        "for", "this", "urgently", "actually", "really", "possibly", "maybe", "perhaps", "somewhere",
    ]),
    ("de", &[
        "ein", "eine", "einen", "einem", "einer", "der", "die", "das", "den", "dem", "mit", "zu", "zum",
        "zur", "an", "ich", "mich", "mir", "sie", "du", "dich", "bitte", "jetzt", "sofort", "gern",
        "gerne", "echten", "echte", "echter", "echtem", "richtigen", "richtige", "kann", "konnte",
        "konnen", "darf", "mal", "doch", "einfach", "hier", "ihr", "ihrem", "ihren", "ihrer", "es",
        "ist", "gibt", "bei", "von", "am", "schnell", "wieder", "noch", "lieber", "hallo", "danke",
        "werden", "mochte", "will", "hilfe",
    ]),
    ("fr", &[
        "un", "une", "le", "la", "les", "l", "a", "au", "aux", "avec", "de", "d", "du", "des", "je",
        "j", "me", "m", "moi", "vous", "tu", "te", "votre", "vos", "vrai", "vraie", "veritable", "reel",
        "reelle", "s", "il", "plait", "svp", "stp", "maintenant", "tout", "suite", "peux", "puis",
        "pouvez", "pourriez", "est", "ce", "que", "qu", "possible", "en", "direct", "merci", "bonjour",
        "se", "y", "rapidement", "avoir", "parler", "aide",
    ]),
    ("es", &[
        "un", "una", "el", "la", "los", "las", "al", "a", "con", "de", "del", "me", "mi", "yo", "usted",
        "ustedes", "te", "tu", "su", "real", "verdadero", "verdadera", "verdad", "por", "favor",
        "ahora", "ya", "puedo", "puede", "podria", "pueda", "quien", "alguno", "alguna", "se", "es",
        "hay", "posible", "que", "mismo", "hola", "gracias", "hablar", "ayuda",
    ]),
    ("nl", &[
        "een", "de", "het", "met", "aan", "ik", "mij", "me", "je", "u", "jullie", "uw", "jouw", "echte",
        "echt", "levende", "graag", "alsjeblieft", "alstublieft", "aub", "nu", "meteen", "kan", "kunt",
        "kun", "mag", "even", "hier", "er", "is", "zou", "gewoon", "hallo", "dank", "op", "nemen",
        "spreken", "praten", "hulp", "van",
    ]),
];

/// Phrases that are a request for a person on their own.
#[rustfmt::skip]
pub const REQUESTS: Table = &[
    ("en", &[
        "escalate", "escalate this", "transfer me", "put me through", "connect me",
    ]),
    ("de", &[
        "verbinden sie mich", "leiten sie mich weiter", "eskalieren",
    ]),
    ("fr", &[
        "transferez moi", "passez moi",
    ]),
    ("es", &[
        "transfierame", "comuniqueme", "paseme",
    ]),
    ("nl", &[
        "verbind me door", "doorverbinden",
    ]),
];

/// Phrases that are never a request: a clause starting with one is a
/// question about the chat ("Am I talking to a human?"); elsewhere the
/// words they cover are not a person ("human resources").
#[rustfmt::skip]
pub const NOT_REQUESTS: Table = &[
    ("en", &[
        "am i talking", "am i speaking", "am i chatting", "do i talk", "do i speak", "are you a",
        "are you an", "are you human", "are you real", "is this a", "is this an", "is this chat",
        "is it a", "is this run", "human resources", "human rights", "human error", "human nature",
        "human body", "travel agent", "estate agent", "insurance agent", "shipping agent",
        "customs agent", "delivery person", "contact person",
    ]),
    ("de", &[
        "bin ich", "spreche ich", "rede ich", "schreibe ich", "chatte ich", "bist du", "sind sie ein",
        "sind sie eine", "ist das ein", "ist das eine", "personalabteilung", "menschenrechte",
    ]),
    ("fr", &[
        "suis je", "est ce que je parle", "je parle a", "je parle avec", "es tu", "etes vous",
        "c est un", "est ce un", "ressources humaines", "personne ne", "personne n",
        "droits de l homme",
    ]),
    ("es", &[
        "estoy hablando", "hablo con", "eres", "es usted", "es un", "recursos humanos",
        "estoy chateando", "derechos humanos",
    ]),
    ("nl", &[
        "ben ik", "praat ik", "spreek ik", "chat ik", "ben je", "bent u", "is dit",
        "personeelsafdeling",
    ]),
];

/// Real words that are one edit away from a person word and must not count
/// as its typo.
#[rustfmt::skip]
pub const TYPO_EXCEPTIONS: &[&str] = &[
    "stuff", "personal", "parson", "operate", "operated", "operates", "employer", "employed", "advised",
    "advises", "managed", "manages", "representation", "humid",
];

#[rustfmt::skip]
pub const COMPLAINT: Table = &[
    ("en", &[
        "complain*", "grievance*",
    ]),
    ("de", &[
        "beschwer*", "reklamation*", "reklamier*",
    ]),
    ("fr", &[
        "plainte*", "plaindre", "plains", "reclamation*",
    ]),
    ("es", &[
        "queja*", "quejar*", "reclamacion*", "reclamo*", "libro de reclamaciones",
    ]),
    ("nl", &[
        "klacht*", "klagen", "klaag", "beklag*",
    ]),
];

#[rustfmt::skip]
pub const LEGAL: Table = &[
    ("en", &[
        "lawyer*", "attorney*", "solicitor*", "sue", "suing", "sued", "court", "courts", "lawsuit*",
        "legal action", "legal steps", "legal proceedings", "litigation", "litigate", "small claims",
        "class action", "consumer protection", "ombudsman",
    ]),
    ("de", &[
        "*anwalt*", "*anwalte*", "verklag*", "klage", "klage einreichen", "vor gericht", "gerichtlich*",
        "rechtliche schritte", "rechtlichen schritte*", "juristische schritte", "rechtsweg", "abmahn*",
        "verbraucherzentrale", "verbraucherschutz",
    ]),
    ("fr", &[
        "avocat*", "en justice", "justice", "tribunal*", "proces", "poursuivre", "poursuites",
        "mise en demeure", "porter plainte", "juridique*", "huissier",
    ]),
    ("es", &[
        "abogad*", "demanda", "demandar*", "demandare", "tribunal*", "juicio", "juzgado",
        "accion legal", "acciones legales", "medidas legales", "denunci*", "judicial*",
    ]),
    ("nl", &[
        "advoca*", "rechtszaak*", "rechter", "rechtbank", "juridisch*", "aanklag*", "dagvaard*",
        "gerechtelijk*",
    ]),
];

#[rustfmt::skip]
pub const LEGAL_EXCEPTIONS: Table = &[
    ("en", &[
        "court shoe*", "tennis court*", "basketball court*", "food court*", "court heel*",
    ]),
];

#[rustfmt::skip]
pub const BILLING: Table = &[
    ("en", &[
        "charg* .. twice", "bill* .. twice", "charg* .. two times", "charg* .. 2 times",
        "charg* .. double", "double charg*", "double billed", "double payment*", "paid twice",
        "pay* .. twice", "duplicate charge*", "duplicate payment*", "wrong charge*", "wrongly charged",
        "charg* .. wrong amount", "incorrect charge*", "incorrectly charged", "overcharg*",
        "charged too much", "chargeback*", "charge back", "unauthori* charge*", "unauthori* payment*",
        "dispute .. charge*", "dispute .. payment*", "billing error*", "billing mistake*",
        "fraudulent charge*",
    ]),
    ("de", &[
        "doppelt .. abgebucht", "zweimal .. abgebucht", "doppelt .. belastet", "zweimal .. belastet",
        "doppelt .. berechnet", "zweimal .. berechnet", "doppelt .. bezahlt", "zweimal .. bezahlt",
        "doppelte abbuchung*", "doppelte zahlung*", "falsch* .. abgebucht", "falsche abbuchung*",
        "falscher betrag", "falsch berechnet", "falsch* .. berechnet", "falsch* .. belastet",
        "falsch* .. abgerechnet", "unberechtigt* .. abgebucht", "zu viel .. abgebucht", "zu viel berechnet",
        "ruckbuchung*", "chargeback*",
    ]),
    ("fr", &[
        "debit* .. deux fois", "preleve* .. deux fois", "factur* .. deux fois", "pay* .. deux fois",
        "double debit", "double prelevement", "double facturation", "mauvais montant",
        "montant incorrect", "erreur de facturation", "facturation erronee", "trop preleve",
        "trop facture", "contest* .. prelevement", "contest* .. paiement", "retrofacturation",
        "chargeback*",
    ]),
    ("es", &[
        "cobr* .. dos veces", "carg* .. dos veces", "pag* .. dos veces", "cobro doble", "doble cobro",
        "doble cargo", "cargo duplicado", "cobro duplicado", "cargo incorrecto", "cobro incorrecto",
        "cobr* .. de mas", "importe incorrecto", "error de facturacion", "contracargo*", "chargeback*",
    ]),
    ("nl", &[
        "dubbel .. afgeschreven", "twee keer .. afgeschreven", "dubbel .. betaald",
        "twee keer .. betaald", "dubbel .. gefactureerd", "dubbele afschrijving*", "dubbele betaling*",
        "verkeerd bedrag", "onterecht* .. afgeschreven", "te veel .. afgeschreven", "te veel betaald",
        "terugboeking*", "chargeback*",
    ]),
];

#[rustfmt::skip]
pub const REFUND: Table = &[
    ("en", &[
        "refund*", "money back", "reimburs*", "pay me back", "repay*", "get .. back", "want .. back",
    ]),
    ("de", &[
        "*erstatt*", "geld zuruck", "ruckzahlung*", "zuruckzahl*", "zuruckuberweis*", "zuruckbekommen",
        "zuruckhaben", "zuruck haben",
    ]),
    ("fr", &[
        "rembours*", "recuperer mon argent", "rendre mon argent", "mon argent",
    ]),
    ("es", &[
        "reembols*", "reintegro*", "devolucion del dinero", "devolucion de mi dinero", "devuelvan*",
        "mi dinero",
    ]),
    ("nl", &[
        "terugbetal*", "geld terug", "restitutie", "terugstort*", "terug .. storten", "vergoed*",
    ]),
];

/// Currencies by ISO code: symbols (written next to the number) and words.
#[rustfmt::skip]
pub const CURRENCIES: Table = &[
    ("EUR", &[
        "€", "eur", "euro", "euros",
    ]),
    ("USD", &[
        "$", "us$", "usd", "dollar", "dollars", "bucks", "dolar", "dolares",
    ]),
    ("GBP", &[
        "£", "gbp", "pound", "pounds", "quid", "pfund", "libra", "libras", "pond",
    ]),
    ("CHF", &[
        "chf", "fr.", "franken", "franc", "francs", "franco", "francos", "frank",
    ]),
    ("CAD", &[
        "cad", "c$", "ca$",
    ]),
    ("AUD", &[
        "aud", "a$", "au$",
    ]),
    ("JPY", &[
        "¥", "jpy", "yen",
    ]),
    ("CNY", &[
        "cny", "rmb", "yuan", "元",
    ]),
    ("INR", &[
        "₹", "inr", "rupee", "rupees",
    ]),
    ("SEK", &[
        "sek", "kr", "kronor", "krona",
    ]),
    ("NOK", &[
        "nok", "kroner",
    ]),
    ("DKK", &[
        "dkk",
    ]),
    ("PLN", &[
        "pln", "zl", "zloty", "zlotych",
    ]),
    ("BRL", &[
        "r$", "brl", "reais",
    ]),
    ("MXN", &[
        "mxn", "mx$", "peso", "pesos",
    ]),
    ("KRW", &[
        "₩", "krw",
    ]),
    ("TRY", &[
        "₺",
    ]),
    ("RUB", &[
        "₽", "rubles", "roubles",
    ]),
];

/// Insults and swearing that show the visitor is fed up.
#[rustfmt::skip]
pub const INSULTS: Table = &[
    ("en", &[
        "useless", "ridiculous", "stupid", "idiot*", "dumb", "moron*", "pathetic", "incompetent",
        "worst", "rubbish", "garbage", "crap*", "waste of time", "a joke", "sucks", "fuck*", "shit*",
        "wtf", "bullshit", "unacceptable", "fed up", "sick of", "sick and tired", "hopeless", "scam",
        "terrible service", "awful service", "horrible service", "terrible experience",
    ]),
    ("de", &[
        "nutzlos*", "unnutz*", "lacherlich*", "dumm*", "blod*", "idiot*", "schwachsinn*", "bescheuert*",
        "scheiss*", "scheis*", "frechheit", "unverschamt*", "katastroph*", "inkompetent*", "sinnlos*",
        "zum kotzen", "verarsch*", "schlechteste*", "inakzeptabel",
    ]),
    ("fr", &[
        "inutile*", "ridicule*", "stupide*", "idiot*", "debile*", "nul", "nuls", "nulle",
        "n importe quoi", "merde*", "une blague", "foutage de gueule", "incompetent*", "lamentable*",
        "pathetique*", "le pire", "la pire", "honteux", "inadmissible", "inacceptable", "marre",
    ]),
    ("es", &[
        "inutil*", "ridicul*", "estupid*", "idiota*", "tonto*", "pesimo*", "el peor", "la peor",
        "basura", "mierda", "una broma", "verguenza", "incompetente*", "inaceptable", "estoy harto",
        "estoy harta", "estafa",
    ]),
    ("nl", &[
        "nutteloos*", "belachelijk*", "stom", "stomme", "stomste", "idioot*", "waardeloos*",
        "slechtste", "kut", "klote*", "schandalig*", "incompetent*", "onacceptabel", "het zat",
        "bagger", "oplicht*",
    ]),
];

/// Phrases that contain an insult word but are not aimed at anyone.
#[rustfmt::skip]
pub const INSULT_EXCEPTIONS: Table = &[
    ("en", &[
        "stupid question*", "dumb question*", "silly question*", "worst case*",
    ]),
    ("de", &[
        "dumme frage*", "blode frage*",
    ]),
    ("fr", &[
        "question stupide*", "question bete*", "nul part",
    ]),
    ("es", &[
        "pregunta tonta*", "pregunta estupida*",
    ]),
    ("nl", &[
        "domme vraag", "stomme vraag",
    ]),
];
