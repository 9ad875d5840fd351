/// Reads the session ids from `Cookie` header values and writes `Set-Cookie` values. It works on
/// strings, so every HTTP layer (the bundled server, Hummingbird, Vapor) reads cookies the same way.
///
/// Reading is defensive: the header is client input. Only values under the cookie name that are
/// well-formed ``SessionID``s count, at most ``RequestedSessionIDs/capacity`` of them, in the order
/// sent (RFC 6265 orders more specific cookies first); anything else (empty, too long, non-hex,
/// control characters) is the same as no cookie. The manager uses the first one its store knows,
/// so a planted cookie sent before the user's own cannot log the user out.
public enum SessionCookie {
    /// The well-formed session ids sent under `name` in the values of a request's `Cookie`
    /// headers (in the order received), at most three.
    /// Inlinable, so an adapter's lazy view of its own headers is walked in place, specialised.
    @inlinable
    public static func requestedIDs(inHeaderValues values: some Sequence<String>, name: String) -> RequestedSessionIDs {
        var ids = RequestedSessionIDs()
        for value in values {
            collect(inHeaderValue: value, name: name, into: &ids)
            if ids.isFull { break }
        }
        return ids
    }

    /// The first well-formed session id under `name` in one `Cookie` header value.
    public static func requestedID(inHeaderValue header: String, name: String) -> SessionID? {
        var ids = RequestedSessionIDs()
        collect(inHeaderValue: header, name: name, into: &ids)
        return ids.first
    }

    /// Adds the well-formed session ids under `name` in one `Cookie` header value to `ids` (in
    /// order, until ``RequestedSessionIDs/isFull``): for an HTTP layer that walks its headers
    /// itself, without collecting their values first.
    public static func collect(inHeaderValue header: String, name: String, into ids: inout RequestedSessionIDs) {
        var header = header
        var name = name
        header.withUTF8 { header in name.withUTF8 { name in collect(in: header, name: name, into: &ids) } }
    }

    /// The scan itself, over contiguous bytes: `name=value` pairs separated by `;`, optional
    /// whitespace around a pair, optional double quotes around a value.
    private static func collect(in header: UnsafeBufferPointer<UInt8>, name: UnsafeBufferPointer<UInt8>, into ids: inout RequestedSessionIDs) {
        var position = 0
        let end = header.count
        while position < end, !ids.isFull {
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
            if let id = SessionID(utf8: UnsafeBufferPointer(rebasing: header[value])) { ids.append(id) }
        }
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
