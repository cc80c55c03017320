//! Client ids for messages, so a resent message is stored once.

/// 128 random bits as 32 hex digits. `crypto.getRandomValues` works on
/// plain-http host pages too, where `crypto.randomUUID` does not exist.
pub fn client_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        bytes
            .iter_mut()
            .for_each(|b| *b = (js_sys::Math::random() * 256.0) as u8);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
