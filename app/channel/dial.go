package channel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrPrivateAddress is the refusal of a connection a workspace asked for
// to an address inside the server's own network.
var ErrPrivateAddress = errors.New("the address is inside the server's network, which workspaces may not reach; " +
	"the operator allows it with --allow-private-mail-hosts")

// cgnat is the carrier-grade NAT range (RFC 6598), which clouds also use
// inside their networks.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// privateAddr reports whether ip is one a workspace's settings must not
// make Parley connect to: loopback, private (RFC 1918, IPv6 ULA),
// link-local (where cloud metadata services live), CGNAT, unspecified
// and multicast.
func privateAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

// RefusePrivate is a net.Dialer Control function: it sees the address
// after name resolution, so a host name that resolves (or is rebound) to
// an internal address is refused too.
func RefusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if privateAddr(ip) {
		return ErrPrivateAddress
	}
	return nil
}

// PrivateHost reports whether a host as typed (a name or an IP literal) is
// obviously inside the server's network, for a clear message when the
// settings are saved; RefusePrivate is the check that holds.
func PrivateHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && privateAddr(ip)
}
