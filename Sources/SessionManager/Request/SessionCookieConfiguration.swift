/// How the session cookie is written. `HttpOnly` is always set: scripts never need the session id.
public struct SessionCookieConfiguration: Sendable, Equatable {
    /// The `SameSite` attribute.
    public enum SameSite: String, Sendable, CaseIterable {
        case strict = "Strict", lax = "Lax", none = "None"
    }

    /// Cookie name. Default: `JSESSIONID` (Tomcat's).
    public var name: String
    /// Whether to add `Secure` (HTTPS only). Default: `false`; required with `SameSite=None`.
    public var secure: Bool
    /// `SameSite` value. Default: `Lax`.
    public var sameSite: SameSite
    /// Optional `Domain`. Default: none (host-only cookie).
    public var domain: String?

    /// Creates a cookie configuration; see the properties for defaults.
    public init(name: String = "JSESSIONID", secure: Bool = false, sameSite: SameSite = .lax, domain: String? = nil) {
        self.name = name
        self.secure = secure
        self.sameSite = sameSite
        self.domain = domain
    }

    /// Whether `name` is a valid cookie name (an RFC 7230 token).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && !#"()<>@,;:\"/[]?={}"#.utf8.contains(byte)
        }
    }
}
