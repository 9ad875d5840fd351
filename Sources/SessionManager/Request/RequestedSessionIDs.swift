/// The well-formed session ids a request's cookies name, in the order sent, at most
/// ``capacity``, without repeats.
///
/// A browser sends every cookie whose domain and path match, so a request can carry several
/// `JSESSIONID`s: one for `/myapp`, one a subdomain set for the parent domain, or one planted by an
/// attacker. Looking only at the first would let a planted cookie log the user out on every
/// request; the manager tries each in order and uses the first one its store knows (as Tomcat
/// does). The bound keeps a request from costing more than a few store reads.
///
/// Stored inline (no allocation): most requests carry one.
public struct RequestedSessionIDs: Sendable, Sequence {
    /// The most ids kept.
    public static let capacity = 3

    /// The first id sent, if any.
    public private(set) var first: SessionID?
    private var second: SessionID?
    private var third: SessionID?

    /// No id.
    public init() {}

    /// One id (or none).
    public init(_ id: SessionID?) {
        first = id
    }

    /// `true` when ``capacity`` ids are held: more are ignored.
    public var isFull: Bool { third != nil }

    /// Adds `id` unless it is already held or the list is full.
    public mutating func append(_ id: SessionID) {
        if first == nil {
            first = id
        } else if first != id, second == nil {
            second = id
        } else if first != id, second != id, third == nil {
            third = id
        }
    }

    /// The ids in the order sent.
    public struct Iterator: IteratorProtocol {
        private let ids: RequestedSessionIDs
        private var position = 0

        fileprivate init(_ ids: RequestedSessionIDs) { self.ids = ids }

        public mutating func next() -> SessionID? {
            defer { position += 1 }
            switch position {
            case 0: return ids.first
            case 1: return ids.second
            case 2: return ids.third
            default: return nil
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(self) }
}
