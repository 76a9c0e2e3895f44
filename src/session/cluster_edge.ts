/**
 * The mark of a cluster edge pull (docs/cluster.md): every request of a node pulling another node's
 * stream carries `X-Dm-Live-Edge: <its node name>`. A node answers such a request only from what it
 * has itself (a stream published here, a source it pulls) and never starts an edge pull of its own
 * for it, so a path is never pulled round a loop or from the node asking.
 */
export const EDGE_HEADER = "X-Dm-Live-Edge";
