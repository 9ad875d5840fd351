import NIOHTTP1
import SessionManager

/// Reads the session id from `Cookie` headers and writes `Set-Cookie` values.
///
/// Reading is defensive: the header is client input. Only the first value under the cookie name
/// that is a well-formed ``SessionID`` counts (RFC 6265 orders more specific cookies first);
/// anything else (empty, too long, non-hex, control characters) is the same as no cookie.
public enum SessionCookie {
    /// The first well-formed session id sent under `name`, or `nil`.
    public static func requestedID(in headers: HTTPHeaders, name: String) -> SessionID? {
        for (headerName, value) in headers where headerName.utf8.count == 6 && headerName.lowercased() == "cookie" {
            if let id = requestedID(inHeaderValue: value, name: name) { return id }
        }
        return nil
    }

    /// The first well-formed session id under `name` in one `Cookie` header value.
    public static func requestedID(inHeaderValue header: String, name: String) -> SessionID? {
        let nameBytes = name.utf8
        var utf8 = Substring(header).utf8[...]
        while !utf8.isEmpty {
            let end = utf8.firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
            var pair = utf8[utf8.startIndex..<end]
            utf8 = end == utf8.endIndex ? utf8[end...] : utf8[utf8.index(after: end)...]
            while let first = pair.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { pair = pair.dropFirst() }
            while let last = pair.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { pair = pair.dropLast() }
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")),
                pair[pair.startIndex..<equals].elementsEqual(nameBytes)
            else { continue }
            var value = pair[pair.index(after: equals)...]
            if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                value = value.dropFirst().dropLast()
            }
            if let id = SessionID(parsing: Substring(value)) { return id }
        }
        return nil
    }

    /// The `Set-Cookie` value announcing `id`.
    public static func setCookie(_ id: SessionID, path: String, configuration: SessionCookieConfiguration) -> String {
        "\(configuration.name)=\(id.description)\(attributes(path: path, configuration: configuration))"
    }

    /// The `Set-Cookie` value that makes the browser drop the cookie.
    public static func expiringCookie(path: String, configuration: SessionCookieConfiguration) -> String {
        "\(configuration.name)=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
            + attributes(path: path, configuration: configuration)
    }

    private static func attributes(path: String, configuration: SessionCookieConfiguration) -> String {
        var text = "; Path=\(path.isEmpty ? "/" : path)"
        if let domain = configuration.domain { text += "; Domain=\(domain)" }
        text += "; HttpOnly; SameSite=\(configuration.sameSite.rawValue)"
        if configuration.secure { text += "; Secure" }
        return text
    }
}
