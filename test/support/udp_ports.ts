/** An even UDP port base for a test server, random so that servers of parallel runs rarely meet. */
export function testUdpPortBase(): number {
  return 20000 + 2 * Math.floor(Math.random() * 10000);
}
