/// How a resource's memory is laid out.
///
/// `rnd` resources are tables on 4 KiB pages (random access, NVMe-like);
/// `lnr` resources are queues on large extents (linear, HDD-like).
public enum ResourceType: String, Sendable, Hashable, CaseIterable, Codable {
    case rnd
    case lnr
}
