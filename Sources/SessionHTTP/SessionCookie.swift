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
        for (headerName, value) in headers where isCookieHeader(headerName) {
            if let id = requestedID(inHeaderValue: value, name: name) { return id }
        }
        return nil
    }

    /// `Cookie`, in any case, without allocating (this runs for every request).
    private static func isCookieHeader(_ name: String) -> Bool {
        name.utf8.count == 6 && name.utf8.elementsEqual("cookie".utf8) { $0 | 0x20 == $1 }
    }

    /// The first well-formed session id under `name` in one `Cookie` header value.
    public static func requestedID(inHeaderValue header: String, name: String) -> SessionID? {
        var header = header
        var name = name
        return header.withUTF8 { header in name.withUTF8 { name in requestedID(in: header, name: name) } }
    }

    /// The scan itself, over contiguous bytes: `name=value` pairs separated by `;`, optional
    /// whitespace around a pair, optional double quotes around a value.
    private static func requestedID(in header: UnsafeBufferPointer<UInt8>, name: UnsafeBufferPointer<UInt8>) -> SessionID? {
        var position = 0
        let end = header.count
        while position < end {
            var pairEnd = position
            while pairEnd < end, header[pairEnd] != UInt8(ascii: ";") { pairEnd += 1 }
            var start = position
            var stop = pairEnd
            position = pairEnd + 1
            while start < stop, header[start] == UInt8(ascii: " ") || header[start] == UInt8(ascii: "\t") { start += 1 }
            while stop > start, header[stop - 1] == UInt8(ascii: " ") || header[stop - 1] == UInt8(ascii: "\t") { stop -= 1 }
            let valueStart = start + name.count + 1
            guard valueStart <= stop, header[start + name.count] == UInt8(ascii: "="),
                UnsafeBufferPointer(rebasing: header[start..<start + name.count]).elementsEqual(name)
            else { continue }
            var value = valueStart..<stop
            if value.count >= 2, header[value.lowerBound] == UInt8(ascii: "\""), header[value.upperBound - 1] == UInt8(ascii: "\"") {
                value = value.lowerBound + 1..<value.upperBound - 1
            }
            if let id = SessionID(utf8: UnsafeBufferPointer(rebasing: header[value])) { return id }
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
