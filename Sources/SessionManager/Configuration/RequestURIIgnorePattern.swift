/// `requestUriIgnorePattern`: requests whose **path** matches have no session at all.
///
/// msm matched `"<METHOD> <uri>?<query>"`, so `.*\.(js|css)$` missed `app.js?v=3` (msm #371) and
/// ignored requests still created orphan sessions (msm #401). We match the path only (context path
/// included, query string excluded), as a whole-string match, like Java's `Pattern.matches`.
///
/// The common shape `.*\.(ext|ext|…)$` is recognised when the pattern is compiled and answered with
/// a suffix check, because it runs on every request; other patterns use `Regex`.
public struct RequestURIIgnorePattern: Sendable {
    /// The pattern as configured.
    public let pattern: String
    private let matcher: Matcher

    private enum Matcher: @unchecked Sendable {
        // `Regex<AnyRegexOutput>` is immutable after construction; it is only read here.
        /// File extensions as UTF-8, compared without allocating.
        case extensions([[UInt8]])
        case regex(Regex<AnyRegexOutput>)
    }

    /// msm's usual value: static resources by extension.
    public static let defaultPattern = #".*\.(ico|png|gif|jpg|css|js)$"#

    /// Compiles `pattern`; throws a message naming the problem when it is not a valid regex.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        if let extensions = Self.extensionSet(of: pattern) {
            self.matcher = .extensions(extensions)
        } else {
            do {
                self.matcher = .regex(try Regex(pattern))
            } catch {
                throw SessionManagerError(.invalidConfiguration, "not a valid regular expression: \(error)")
            }
        }
    }

    /// Whether a request for `path` (no query string) is ignored.
    public func matches(path: Substring) -> Bool {
        switch matcher {
        case .extensions(let extensions):
            let utf8 = path.utf8
            guard let dot = utf8.lastIndex(of: UInt8(ascii: ".")) else { return false }
            let suffix = utf8[utf8.index(after: dot)...]
            guard !suffix.contains(UInt8(ascii: "/")) else { return false }
            return extensions.contains { $0.elementsEqual(suffix) }
        case .regex(let regex):
            return (try? regex.wholeMatch(in: path)) != nil
        }
    }

    /// The extension list of a pattern of exactly the form `.*\.(a|b|c)$` (or without `$`), if it is one.
    private static func extensionSet(of pattern: String) -> [[UInt8]]? {
        var body = Substring(pattern)
        guard body.hasPrefix(#".*\.("#) else { return nil }
        body = body.dropFirst(5)
        if body.hasSuffix("$") { body = body.dropLast() }
        guard body.hasSuffix(")") else { return nil }
        body = body.dropLast()
        let names = body.split(separator: "|", omittingEmptySubsequences: false)
        guard !names.isEmpty,
            names.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
        else { return nil }
        return names.map { Array($0.utf8) }
    }
}
