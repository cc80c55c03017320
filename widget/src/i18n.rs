//! The widget's own words in English, German, French and Spanish.
//!
//! What people write (and what the server says, such as the handoff notice)
//! is shown as it comes; everything the widget itself says is here. The
//! language is the one the page's `Baton('set', {lang})` or the script
//! tag's `data-lang` names, else the page's `<html lang>`, else the
//! browser's (the loader picks it, see `loader.js`); anything else is
//! English.

/// A language the widget speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    De,
    Fr,
    Es,
}

impl Lang {
    /// The language of a BCP 47 tag (`de`, `de-AT`, `fr_CA`, `ES`), if the
    /// widget speaks it.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.get(..2)?.to_ascii_lowercase();
        if tag.len() > 2 && !matches!(tag.as_bytes()[2], b'-' | b'_') {
            return None;
        }
        Some(match primary.as_str() {
            "en" => Self::En,
            "de" => Self::De,
            "fr" => Self::Fr,
            "es" => Self::Es,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Self::En => &EN,
            Self::De => &DE,
            Self::Fr => &FR,
            Self::Es => &ES,
        }
    }
}

/// Every text the widget shows or reads out. Texts that follow a name
/// ("Mia joined the conversation") are the part after the name: all four
/// languages put the name first.
pub struct Strings {
    /// The panel's accessible name.
    pub chat: &'static str,
    /// Shown while the transcript is empty (a site's `greeting` replaces it).
    pub greeting: &'static str,
    pub assistant_role: &'static str,
    pub team_role: &'static str,
    /// Under the assistant's name while the conversation waits for a person.
    pub queued_role: &'static str,
    pub minimise: &'static str,
    pub talk_to_human: &'static str,
    pub on_the_way: &'static str,
    pub placeholder: &'static str,
    pub message: &'static str,
    pub send: &'static str,
    pub you: &'static str,
    pub not_sent: &'static str,
    pub connecting: &'static str,
    pub reconnecting: &'static str,
    /// The server does not let this page open the chat.
    pub unavailable: &'static str,
    pub is_typing: &'static str,
    pub joined: &'static str,
    pub handed_back: &'static str,
    pub is_back: &'static str,
    pub thanks: &'static str,
    /// Above a clarifying question's choices, and its group's name.
    pub did_you_mean: &'static str,
    /// The choice that hands off instead.
    pub none_of_these: &'static str,
    pub rate_group: &'static str,
    pub rate_question: &'static str,
    pub comment: &'static str,
    pub comment_placeholder: &'static str,
    pub good: &'static str,
    pub bad: &'static str,
    /// The paperclip button.
    pub attach: &'static str,
    /// The microphone button (a toggle), and the status line while it records.
    pub record: &'static str,
    pub recording: &'static str,
    /// Under a file on its way to the server.
    pub uploading: &'static str,
    /// Why a file was not sent, when the reason is not the server's own.
    pub too_large: &'static str,
    pub wrong_type: &'static str,
    pub upload_failed: &'static str,
    pub no_microphone: &'static str,
    /// File sizes: bytes, kilobytes, megabytes, and the decimal separator.
    pub units: [&'static str; 3],
    pub decimal: &'static str,
}

pub static EN: Strings = Strings {
    chat: "Chat",
    greeting: "Hi! Ask us anything. You can talk to a person at any time.",
    assistant_role: "Virtual assistant",
    team_role: "Support team",
    queued_role: "A person will join you soon",
    minimise: "Minimise chat",
    talk_to_human: "Talk to a human",
    on_the_way: "A person is on the way",
    placeholder: "Write a message…",
    message: "Message",
    send: "Send",
    you: "You",
    not_sent: "Not sent: ",
    connecting: "Connecting…",
    reconnecting: "Reconnecting…",
    unavailable: "Chat is unavailable on this site right now.",
    is_typing: " is typing…",
    joined: " joined the conversation",
    handed_back: " handed your conversation back to the team",
    is_back: " is back in the conversation",
    thanks: "Thanks for your feedback",
    did_you_mean: "Did you mean one of these?",
    none_of_these: "None of these",
    rate_group: "Rate the help you got",
    rate_question: "How was the help you got?",
    comment: "Comment (optional)",
    comment_placeholder: "Add a comment (optional)",
    good: "Good",
    bad: "Bad",
    attach: "Attach a file",
    record: "Record a voice message",
    recording: "Recording… Press the microphone again to send.",
    uploading: "Uploading…",
    too_large: "The file is too large.",
    wrong_type: "This kind of file cannot be sent.",
    upload_failed: "The file could not be sent. Please try again.",
    no_microphone: "The microphone is not available.",
    units: ["B", "KB", "MB"],
    decimal: ".",
};

pub static DE: Strings = Strings {
    chat: "Chat",
    greeting: "Hallo! Fragen Sie uns alles. Sie können jederzeit mit einem Menschen sprechen.",
    assistant_role: "Virtueller Assistent",
    team_role: "Support-Team",
    queued_role: "Gleich ist ein Mensch für Sie da",
    minimise: "Chat minimieren",
    talk_to_human: "Mit einem Menschen sprechen",
    on_the_way: "Ein Mensch ist unterwegs",
    placeholder: "Nachricht schreiben…",
    message: "Nachricht",
    send: "Senden",
    you: "Sie",
    not_sent: "Nicht gesendet: ",
    connecting: "Verbinde…",
    reconnecting: "Verbinde erneut…",
    unavailable: "Der Chat ist auf dieser Website gerade nicht verfügbar.",
    is_typing: " schreibt…",
    joined: " ist dem Gespräch beigetreten",
    handed_back: " hat Ihr Gespräch an das Team zurückgegeben",
    is_back: " ist zurück im Gespräch",
    thanks: "Danke für Ihr Feedback",
    did_you_mean: "Meinten Sie eines davon?",
    none_of_these: "Nichts davon",
    rate_group: "Bewerten Sie die Hilfe",
    rate_question: "Wie war die Hilfe?",
    comment: "Kommentar (optional)",
    comment_placeholder: "Kommentar hinzufügen (optional)",
    good: "Gut",
    bad: "Schlecht",
    attach: "Datei anhängen",
    record: "Sprachnachricht aufnehmen",
    recording: "Aufnahme läuft… Zum Senden erneut auf das Mikrofon drücken.",
    uploading: "Wird hochgeladen…",
    too_large: "Die Datei ist zu groß.",
    wrong_type: "Diese Art von Datei kann nicht gesendet werden.",
    upload_failed: "Die Datei konnte nicht gesendet werden. Bitte versuchen Sie es erneut.",
    no_microphone: "Das Mikrofon ist nicht verfügbar.",
    units: ["B", "KB", "MB"],
    decimal: ",",
};

pub static FR: Strings = Strings {
    chat: "Discussion",
    greeting: "Bonjour ! Posez-nous vos questions. Vous pouvez parler à une personne à tout moment.",
    assistant_role: "Assistant virtuel",
    team_role: "Équipe d'assistance",
    queued_role: "Une personne va vous répondre",
    minimise: "Réduire la discussion",
    talk_to_human: "Parler à une personne",
    on_the_way: "Une personne arrive",
    placeholder: "Écrivez un message…",
    message: "Message",
    send: "Envoyer",
    you: "Vous",
    not_sent: "Non envoyé : ",
    connecting: "Connexion…",
    reconnecting: "Reconnexion…",
    unavailable: "Le chat n’est pas disponible sur ce site pour le moment.",
    is_typing: " écrit…",
    joined: " a rejoint la conversation",
    handed_back: " a rendu votre conversation à l'équipe",
    is_back: " est de retour dans la conversation",
    thanks: "Merci pour votre avis",
    did_you_mean: "Vouliez-vous dire l’un de ceux-ci ?",
    none_of_these: "Aucun de ceux-ci",
    rate_group: "Évaluez l'aide reçue",
    rate_question: "Comment était l'aide reçue ?",
    comment: "Commentaire (facultatif)",
    comment_placeholder: "Ajouter un commentaire (facultatif)",
    good: "Bien",
    bad: "Mauvais",
    attach: "Joindre un fichier",
    record: "Enregistrer un message vocal",
    recording: "Enregistrement… Appuyez à nouveau sur le micro pour envoyer.",
    uploading: "Envoi en cours…",
    too_large: "Le fichier est trop volumineux.",
    wrong_type: "Ce type de fichier ne peut pas être envoyé.",
    upload_failed: "Le fichier n'a pas pu être envoyé. Veuillez réessayer.",
    no_microphone: "Le micro n'est pas disponible.",
    units: ["o", "Ko", "Mo"],
    decimal: ",",
};

pub static ES: Strings = Strings {
    chat: "Chat",
    greeting: "¡Hola! Pregúntanos lo que quieras. Puedes hablar con una persona en cualquier momento.",
    assistant_role: "Asistente virtual",
    team_role: "Equipo de soporte",
    queued_role: "Una persona te atenderá pronto",
    minimise: "Minimizar chat",
    talk_to_human: "Hablar con una persona",
    on_the_way: "Una persona está en camino",
    placeholder: "Escribe un mensaje…",
    message: "Mensaje",
    send: "Enviar",
    you: "Tú",
    not_sent: "No enviado: ",
    connecting: "Conectando…",
    reconnecting: "Reconectando…",
    unavailable: "El chat no está disponible en este sitio ahora mismo.",
    is_typing: " está escribiendo…",
    joined: " se unió a la conversación",
    handed_back: " devolvió tu conversación al equipo",
    is_back: " ha vuelto a la conversación",
    thanks: "Gracias por tu opinión",
    did_you_mean: "¿Quería decir alguno de estos?",
    none_of_these: "Ninguno de estos",
    rate_group: "Valora la ayuda recibida",
    rate_question: "¿Qué tal fue la ayuda?",
    comment: "Comentario (opcional)",
    comment_placeholder: "Añade un comentario (opcional)",
    good: "Buena",
    bad: "Mala",
    attach: "Adjuntar un archivo",
    record: "Grabar un mensaje de voz",
    recording: "Grabando… Pulsa de nuevo el micrófono para enviar.",
    uploading: "Subiendo…",
    too_large: "El archivo es demasiado grande.",
    wrong_type: "Este tipo de archivo no se puede enviar.",
    upload_failed: "No se pudo enviar el archivo. Inténtalo de nuevo.",
    no_microphone: "El micrófono no está disponible.",
    units: ["B", "KB", "MB"],
    decimal: ",",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pick_the_language_by_their_first_subtag() {
        assert_eq!(Lang::parse("de"), Some(Lang::De));
        assert_eq!(Lang::parse("de-AT"), Some(Lang::De));
        assert_eq!(Lang::parse("FR_ca"), Some(Lang::Fr));
        assert_eq!(Lang::parse("es-419"), Some(Lang::Es));
        assert_eq!(Lang::parse("en-GB"), Some(Lang::En));
        assert_eq!(Lang::parse("nl"), None);
        assert_eq!(Lang::parse("deu"), None, "not a two-letter subtag");
        assert_eq!(Lang::parse(""), None);
        assert_eq!(Lang::parse("é"), None);
    }

    #[test]
    fn every_language_says_everything() {
        for lang in [Lang::En, Lang::De, Lang::Fr, Lang::Es] {
            let s = lang.strings();
            for text in [
                s.chat,
                s.greeting,
                s.assistant_role,
                s.team_role,
                s.queued_role,
                s.minimise,
                s.talk_to_human,
                s.on_the_way,
                s.placeholder,
                s.message,
                s.send,
                s.you,
                s.not_sent,
                s.connecting,
                s.reconnecting,
                s.unavailable,
                s.is_typing,
                s.joined,
                s.handed_back,
                s.is_back,
                s.thanks,
                s.rate_group,
                s.rate_question,
                s.comment,
                s.comment_placeholder,
                s.good,
                s.bad,
                s.attach,
                s.record,
                s.recording,
                s.uploading,
                s.too_large,
                s.wrong_type,
                s.upload_failed,
                s.no_microphone,
                s.units[0],
                s.units[1],
                s.units[2],
                s.decimal,
            ] {
                assert!(!text.trim().is_empty(), "{lang:?}");
            }
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
        assert_ne!(DE.talk_to_human, EN.talk_to_human);
    }
}
