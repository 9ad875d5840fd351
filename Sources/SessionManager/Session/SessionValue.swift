import Foundation

/// A value stored in a session attribute.
///
/// Sessions travel between processes (Redis, memcached, other nodes), so an attribute is not an
/// arbitrary Swift object but one of a closed set of cases that every transcoder can write and
/// read back exactly. Use ``SessionValueConvertible`` for typed access to common Swift types.
public enum SessionValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case date(Date)
    case array([SessionValue])
    case map([String: SessionValue])
}

extension SessionValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: SessionValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, SessionValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
