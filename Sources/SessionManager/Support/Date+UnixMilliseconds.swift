import Foundation

extension Date {
    /// Unix time in whole milliseconds: the time format of the stored facts other languages read
    /// (`sm:loginTime`, the JSON transcoder's `sm:…UnixMs`) and of the principal index.
    var unixMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The date of a Unix time in milliseconds.
    init(unixMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
