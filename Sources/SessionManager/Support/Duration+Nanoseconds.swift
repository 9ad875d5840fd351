extension Duration {
    /// Whole nanoseconds (of a duration below 292 years), for statistics: `Duration` keeps
    /// attoseconds, and the timers and histograms take integers.
    var nanosecondCount: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) &* 1_000_000_000 &+ Int(attoseconds / 1_000_000_000)
    }
}
