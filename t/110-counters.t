# The counters of staged_update_status after a known sequence of checks:
# every decision (none at the track's and at a server's latest, upgrade by
# a rule and by a default, mandatory below a minimum), every error, two
# servers, more client versions than the track counts (the rest is
# "other"), answered by two workers (connections spread by reuseport; the
# test sees both pids).  The expected numbers are tallied from the answers
# the clients got (status, X-Update-Rule, "mandatory"), and the JSON and
# the Prometheus text must give exactly those; Prometheus's own promtool
# must accept the text.  Downloads through staged_update_verify count the
# files and the bytes sent (a whole file and a resumed one).  A HUP reload
# keeps every counter; a check after it adds one.
#
# Plain Test::More: nginx on 127.0.0.1, port TEST_NGINX_PORT + 120.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateStatus;
use JSON::PP;
use Test::More;

StagedUpdateStatus::skip_unless_nginx();

my $t = StagedUpdateStatus->new(port_offset => 120);

$t->start;

my %errors = (
    'version is missing'                  => 'version_missing',
    'version is malformed'                => 'version_malformed',
    'server is malformed'                 => 'server_malformed',
    'client is malformed'                 => 'client_malformed',
    'unknown server'                      => 'unknown_server',
    'a parameter is given more than once' => 'duplicate',
    'method not allowed'                  => 'method',
);

my %target = (game => '2.0.0', 'shard-1' => '1.9.0', 'shard-2' => '1.9.0');

my (%want, %pids, @upgrades, %keys);

# versions in the order of first sight: the track counts 8, sketches 4

my @versions = qw(2.0.0 0.9.0 1.6.0 1.2.0 1.7.3 1.9.5 1.8.0 1.5.1 1.6.9 1.6.10);

my @paths;

for my $i (0 .. 199) {
    my $v = $versions[$i % @versions];
    my $q = "version=$v&client=key" . ($i % 37);

    $q .= '&server=shard-1' if $i % 5 == 1;
    $q .= '&server=shard-2' if $i % 7 == 3;

    push @paths, "/update/check?$q";
}

push @paths, '/update/check', '/update/check?version=1..2',
             '/update/check?version=1.0&server=a%20b',
             '/update/check?version=1.0&client=a%2Fb',
             '/update/check?version=1.0&server=shard-9',
             '/update/check?version=1.0&version=1.1',
             '/update/check?version=99999999999';

for my $path (@paths) {
    my ($status, $h, $body) = $t->get($path);
    tally($path, $status, $h, $body);
}

for (1 .. 3) {
    my ($status, $h, $body) = $t->get('/update/check?version=1.0',
                                      method => 'POST', body => 'x=1');
    tally('POST', $status, $h, $body);
}

ok(keys %pids == 2, 'both workers answered checks')
    or diag('pids: ' . join(' ', keys %pids));

# downloads: a whole file and the rest of one from byte 100

my $m = decode_json($upgrades[0]);
my ($file) = grep { $_->{path} eq 'data/pack.pak' } @{ $m->{files} };
my ($st, $h, $body) = $t->get($file->{url});

is($st, 200, 'a download with the token of an answer')
    or diag("$file->{url}: $st $body");
is(length $body, $file->{size}, 'the whole file');

($st, $h, $body) = $t->get($file->{url}, headers => { Range => 'bytes=100-' });

is($st, 206, 'a resumed download');
is(length $body, $file->{size} - 100, 'the rest of the file');

$want{downloads}{ $m->{version} } = [2, 2 * $file->{size} - 100];

($st) = $t->get('/releases/2.0.0/bin/game');
is($st, 403, 'a download without a token is refused, and not counted');

compare('after the checks');

ok($t->reload, 'a HUP reload with the same zone: new workers')
    or diag($t->error_log);

compare('after a reload');

my $after = '/update/check?version=2.0.0&client=after';
my ($status, $hh, $b) = $t->get($after);
tally($after, $status, $hh, $b);

compare('after the reload and one more check');

# a reload with other tables: shard-2 goes, shard-3 and a rule come; the
# counters of the names that stay are kept, the new ones start at 0

my $j1 = $t->status_json->{tracks}[0];
my $rel = $t->root . '/rel';

ok($t->reload(tables => <<"TABLES"), 'a reload with other tables');
        rule     1.5.0-1.9.*  50%;
        rule     1.2.*  30%;
        server   shard-1  latest=1.9.0  release=$rel/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
        server   shard-3  latest=1.9.0  minimum=1.5.0  default=5%;
TABLES

my $j2 = $t->status_json->{tracks}[0];
my (%before, %after);

for ([$j1, \%before], [$j2, \%after]) {
    my ($j, $h) = @$_;

    for my $s (@{ $j->{scopes} }) {
        $h->{"$s->{scope}:$_->{rule}"} = "$_->{checks}/$_->{upgrades}"
            for @{ $s->{rules} };
    }
}

my @kept = grep { exists $after{$_} } sort keys %before;
my @new = grep { !exists $before{$_} } sort keys %after;

is_deeply([ @after{@kept} ], [ @before{@kept} ],
          'the counters of ' . @kept . ' scopes and rules that stay are kept');
is_deeply([ sort @new ], [ 'game:1.2.*', map { "shard-3:$_" }
                                         qw(default halted latest minimum
                                            paused rate) ],
          'the new scope and rule are there');
is_deeply([ @after{@new} ], [ ('0/0') x @new ], 'they start at 0');
ok(!grep({ /^shard-2:/ } keys %after), 'shard-2 is gone from the status');
is_deeply($j2->{versions}, $j1->{versions}, 'the client versions are kept');
is_deeply($j2->{invalid}, $j1->{invalid}, 'the invalid checks are kept');

$t->stop;

unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alert in the log');

done_testing();


# what a client saw, in the expected counters

sub tally {
    my ($path, $status, $h, $body) = @_;

    $pids{ $h->{'x-pid'} } = 1 if $h->{'x-pid'};

    if ($status == 400 || $status == 405) {
        my ($msg) = $body =~ /"error":"([^":]+)/ or die "$path: $body\n";
        $msg =~ s/[:,].*//;
        my $e = $errors{$msg} or die "$path: unknown error $msg\n";
        $want{invalid}{$e}++;
        return;
    }

    my ($scope, $what) = ($h->{'x-update-rule'} // '') =~ /^([^:]+):(.+)$/
        or die "$path: no X-Update-Rule\n";

    my $d = $status == 204 ? 'none'
            : decode_json($body)->{mandatory} ? 'mandatory' : 'upgrade';

    push @upgrades, $body if $status == 200;

    $want{scope}{$scope}{$d}++;
    $want{rule}{$scope}{$what}{checks}++;
    $want{rule}{$scope}{$what}{upgrades}++ if $d ne 'none';
    $want{target}{ $target{$scope} }{$d}++;

    my ($v) = $path =~ /version=([^&]+)/;
    my ($k) = $path =~ /client=([^&]+)/;
    my @p = split /\./, $v;
    push @p, 0 while @p < 3;
    $v = join '.', @p;

    $want{order} //= [];
    push @{ $want{order} }, $v unless grep { $_ eq $v } @{ $want{order} };
    $want{version}{$v}++;
    $keys{$v}{$k} = 1 if defined $k;
}

sub compare {
    my ($when) = @_;

    my $j = $t->status_json;
    my ($track) = grep { $_->{track} eq 'game' } @{ $j->{tracks} };
    my (%got, %exp);

    # per scope and decision, per rule

    for my $s (@{ $track->{scopes} }) {
        for my $d (qw(none upgrade mandatory)) {
            $got{"scope $s->{scope} $d"} = $s->{$d};
            $exp{"scope $s->{scope} $d"} = $want{scope}{ $s->{scope} }{$d} // 0;
        }

        for my $r (@{ $s->{rules} }) {
            for my $n (qw(checks upgrades)) {
                $got{"rule $s->{scope}:$r->{rule} $n"} = $r->{$n};
                $exp{"rule $s->{scope}:$r->{rule} $n"}
                    = $want{rule}{ $s->{scope} }{ $r->{rule} }{$n} // 0;
            }
        }
    }

    my $invalid = 0;

    for my $e (values %errors) {
        $got{"invalid $e"} = $track->{invalid}{$e};
        $exp{"invalid $e"} = $want{invalid}{$e} // 0;
        $invalid += $exp{"invalid $e"};
    }

    for my $d (qw(none upgrade mandatory)) {
        my $n = 0;
        $n += $want{scope}{$_}{$d} // 0 for keys %{ $want{scope} };
        $got{"checks $d"} = $track->{checks}{$d};
        $exp{"checks $d"} = $n;
    }

    $got{'checks invalid'} = $track->{checks}{invalid};
    $exp{'checks invalid'} = $invalid;

    for my $x (@{ $track->{targets} }) {
        for my $d (qw(none upgrade mandatory)) {
            $got{"target $x->{version} $d"} = $x->{$d};
            $exp{"target $x->{version} $d"} = $want{target}{ $x->{version} }{$d}
                                              // 0;
        }
    }

    # the first 8 versions seen are counted, the rest is "other"

    my @counted = @{ $want{order} }[0 .. 7];
    my $other = 0;

    $other += $want{version}{$_} for @{ $want{order} }[8 .. $#{ $want{order} }];

    for my $v (@counted) {
        my ($x) = grep { $_->{version} eq $v } @{ $track->{versions} };
        $got{"version $v"} = $x ? $x->{checks} : 'absent';
        $exp{"version $v"} = $want{version}{$v};
    }

    $got{'versions counted'} = scalar @{ $track->{versions} };
    $exp{'versions counted'} = 8;
    $got{'versions other'} = $track->{versions_other};
    $exp{'versions other'} = $other;

    # the first 4 have sketches: a few keys each, counted exactly

    for my $i (0 .. 7) {
        my $v = $counted[$i];
        my ($x) = grep { $_->{version} eq $v } @{ $track->{versions} };
        $got{"installations $v"} = $x ? $x->{installations} // 'null' : 'absent';
        $exp{"installations $v"} = $i < 4 ? scalar keys %{ $keys{$v} } : 'null';
    }

    for my $x (@{ $track->{downloads} }) {
        my $w = $want{downloads}{ $x->{version} } // [0, 0];
        $got{"downloads $x->{version}"} = "$x->{files} $x->{bytes}";
        $exp{"downloads $x->{version}"} = "$w->[0] $w->[1]";
    }

    is_deeply(\%got, \%exp, "JSON: every counter exact, $when")
        or diag(encode_json($track) . "\norder: @{ $want{order} }");

    # the same numbers in the Prometheus text

    my (undef, $ph, $text) = $t->get('/update/status?format=prometheus');

    like($ph->{'content-type'}, qr{^text/plain; version=0\.0\.4},
         "Prometheus: text 0.0.4, $when");

    my $p = $t->status_prom($text);
    my (%pgot, %pexp);

    for my $k (keys %exp) {
        my @w = split / /, $k;
        my $name;

        if ($w[0] eq 'scope') {
            $name = qq{staged_update_checks_total{track="game",scope="$w[1]",decision="$w[2]"}};

        } elsif ($w[0] eq 'invalid') {
            $name = qq{staged_update_invalid_checks_total{track="game",error="$w[1]"}};

        } elsif ($w[0] eq 'version') {
            $name = qq{staged_update_version_checks_total{track="game",version="$w[1]"}};

        } elsif ($w[0] eq 'target') {
            $name = qq{staged_update_target_checks_total{track="game",version="$w[1]",decision="$w[2]"}};

        } elsif ($w[0] eq 'downloads') {
            my ($f, $by) = split / /, $exp{$k};
            $pexp{qq{staged_update_downloads_total{track="game",version="$w[1]"}}} = $f;
            $pexp{qq{staged_update_download_bytes_total{track="game",version="$w[1]"}}} = $by;
            next;

        } else {
            next;
        }

        $pexp{$name} = $exp{$k};
    }

    $pexp{'staged_update_version_checks_total{track="game",version="other"}'}
        = $exp{'versions other'};
    $pexp{'staged_update_checks_total{track="game",scope="game",decision="invalid"}'}
        = $invalid;

    # rules: by decision; latest, paused and halted count none, minimum
    # mandatory

    for my $k (grep { /^rule / } keys %exp) {
        my (undef, $sr, $n) = split / /, $k;
        my ($s, $r) = $sr =~ /^([^:]+):(.+)$/;
        next unless $n eq 'checks';

        my $up = $exp{"rule $sr upgrades"};
        my $none = $exp{$k} - $up;
        my $name = 'staged_update_rule_checks_total{track="game",scope="'
                   . $s . '",rule="' . $r . '",decision=';

        my $kn = $name . ($r eq 'rate' ? '"deferred"' : '"none"') . '}';
        my $ku = $name . ($r eq 'minimum' ? '"mandatory"' : '"upgrade"') . '}';

        $pexp{$kn} = $none unless $r eq 'minimum';
        $pexp{$ku} = $up unless $r =~ /^(?:latest|paused|halted|rate)$/;
    }

    $pgot{$_} = $p->{$_} // 'absent' for keys %pexp;

    is_deeply(\%pgot, \%pexp, "Prometheus: every sample exact, $when");

    SKIP: {
        my ($promtool) = grep { -x } map { "$_/promtool" } split /:/, $ENV{PATH};

        skip 'promtool (Debian package prometheus) is not installed', 1
            unless $promtool;

        open my $fh, '|-', "$promtool check metrics > $t->{root}/promtool.out 2>&1"
            or die "cannot run promtool: $!\n";
        print $fh $text;
        close $fh;

        is($?, 0, "promtool check metrics accepts the text, $when")
            or diag(StagedUpdateStatus::read_file("$t->{root}/promtool.out"));
    }
}
