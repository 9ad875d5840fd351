import SessionManager

/// Vapor's `SessionData` is `[String: String]`; the core's values are typed. How the driver shows
/// one as the other, and writes back only what the handler changed.
enum DriverData {
    /// The session's values as Vapor's strings: strings as they are, numbers and booleans as their
    /// text; other kinds (arrays, dictionaries, data) are left out.
    static func strings(of session: Session) -> [String: String] {
        var data: [String: String] = [:]
        for name in session.attributeNames {
            switch session[name] {
            case .string(let text): data[name] = text
            case .int(let number): data[name] = String(number)
            case .double(let number): data[name] = String(number)
            case .bool(let flag): data[name] = String(flag)
            default: break
            }
        }
        return data
    }

    /// Writes to `session` the keys of `data` that differ from `read` (what the session held when
    /// Vapor read it), and removes the keys `data` no longer has: a key the handler did not touch
    /// keeps what another request may have written meanwhile.
    static func apply(_ data: [String: String], over read: [String: String], to session: Session) {
        for (key, value) in data where read[key] != value {
            session.set(key, value)
        }
        for key in read.keys where data[key] == nil {
            session.removeValue(forKey: key)
        }
    }
}
