# A real Prometheus server (Debian's) scrapes staged_update_status every
# second, and its query API (/api/v1/query) answers with the numbers of
# checks that were made: staged_update_checks_total by scope and decision,
# the invalid ones, and the rule that decided.  The target is "up" (the
# scrape was accepted: one bad label would fail it whole).
#
# Plain Test::More: nginx on 127.0.0.1, port TEST_NGINX_PORT + 122,
# Prometheus on TEST_NGINX_PORT + 132, its storage in a temporary folder.
# Skipped, saying so, when the prometheus binary is absent.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateStatus;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

StagedUpdateStatus::skip_unless_nginx();

my ($prometheus) = grep { -x } map { "$_/prometheus" } split /:/, $ENV{PATH};

plan skip_all => 'prometheus (Debian package prometheus) is not installed'
    unless $prometheus;

my $t = StagedUpdateStatus->new(port_offset => 122);
my $pport = $t->port + 10;
my $dir = $t->root . '/prometheus';
my $server;

END {
    if ($server && $server > 0) {
        kill 'TERM', $server;
        waitpid $server, 0;
    }
}

$t->start;

# the checks: 7 current, 3 below the minimum, 2 on shard-2's latest, 4 bad

$t->get('/update/check?version=2.0.0') for 1 .. 7;
$t->get('/update/check?version=0.9.0') for 1 .. 3;
$t->get('/update/check?version=1.9.5&server=shard-2') for 1 .. 2;
$t->get('/update/check?version=x') for 1 .. 4;

my %want = (
    'staged_update_checks_total{scope="game",decision="none"}'      => 7,
    'staged_update_checks_total{scope="game",decision="mandatory"}' => 3,
    'staged_update_checks_total{scope="shard-2",decision="none"}'   => 2,
    'staged_update_checks_total{scope="game",decision="invalid"}'   => 4,
    'staged_update_rule_checks_total{scope="game",rule="minimum"}'  => 3,
    'staged_update_invalid_checks_total{error="version_malformed"}' => 4,
    'up{job="staged_update"}'                                       => 1,
);

StagedUpdateStatus::write_file("$dir/prometheus.yml", <<"YML");
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: staged_update
    metrics_path: /update/status
    params:
      format: [prometheus]
    static_configs:
      - targets: ['127.0.0.1:${\ $t->port }']
YML

$server = fork // die "fork: $!\n";

if ($server == 0) {
    open STDOUT, '>', "$dir/prometheus.log";
    open STDERR, '>&', \*STDOUT;
    {
        no warnings 'exec';
        exec $prometheus, "--config.file=$dir/prometheus.yml",
             "--storage.tsdb.path=$dir/data",
             "--web.listen-address=127.0.0.1:$pport";
    }

    POSIX::_exit(127);
}

# poll the query API until every value is there, for at most 60 s

my %got;
my $deadline = time + 60;

while (time < $deadline) {
    for my $q (keys %want) {
        next if defined $got{$q} && $got{$q} == $want{$q};
        $got{$q} = query($q);
    }

    last unless grep { ($got{$_} // -1) != $want{$_} } keys %want;

    sleep 0.5;
}

for my $q (sort keys %want) {
    is($got{$q}, $want{$q}, "Prometheus query $q");
}

if (grep { ($got{$_} // -1) != $want{$_} } keys %want) {
    diag(StagedUpdateStatus::read_file("$dir/prometheus.log"));
}

$t->stop;

done_testing();


# the value of a query's first sample, or undef

sub query {
    my ($q) = @_;

    (my $e = $q) =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $pport,
                                  Proto => 'tcp', Timeout => 5)
        or return undef;

    print $s "GET /api/v1/query?query=$e HTTP/1.0\r\nHost: localhost\r\n\r\n";

    local $/;
    my $answer = <$s> // '';
    my ($body) = $answer =~ /\r\n\r\n(.*)\z/s or return undef;
    my $j = eval { decode_json($body) } or return undef;

    return undef unless $j->{status} eq 'success'
                        && @{ $j->{data}{result} || [] };

    return $j->{data}{result}[0]{value}[1];
}
