/// The path and query of a request target (RFC 9112 §3.2).
///
/// - origin-form `/myapp/count?x=1`: as sent;
/// - absolute-form `http://host/myapp/count?x=1` (what a client talking to a proxy sends, and what
///   a server must accept): routed by its path, `/` when it has none;
/// - anything else (`*`, an authority, another scheme): no path, so no context matches (`404`).
struct RequestTarget {
    /// The path, still percent-encoded; `nil` when the target has none.
    let path: Substring?
    /// The query without `?`, if any.
    let query: Substring?

    init(_ uri: String) {
        var target = Substring(uri)
        if target.first != "/" {
            guard let rest = Self.afterAuthority(target) else {
                path = nil
                query = nil
                return
            }
            target = rest
        }
        let queryStart = target.firstIndex(of: "?")
        let path = queryStart.map { target[..<$0] } ?? target
        self.path = path.isEmpty ? "/" : path
        self.query = queryStart.map { target[target.index(after: $0)...] }
    }

    /// For `http://authority/rest` or `https://…` (any case), the `/rest` part (possibly empty or
    /// starting with `?`); `nil` for any other form.
    private static func afterAuthority(_ target: Substring) -> Substring? {
        let lowered = target.prefix(8).lowercased()
        let schemeLength: Int
        if lowered.hasPrefix("http://") {
            schemeLength = 7
        } else if lowered.hasPrefix("https://") {
            schemeLength = 8
        } else {
            return nil
        }
        let authority = target.dropFirst(schemeLength)
        guard let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return authority[authority.endIndex...] }
        return authority[end...]
    }
}
