# The status page: served for Accept: text/html and for ?format=html, one
# self-contained document (no script, style, font or image from another
# place), whose script fetches ?format=json and draws it.  Debian's headless
# Chromium renders it (--dump-dom after the script ran, with a virtual time
# budget): every number the page shows (each <span data-k="path">) equals
# the value at that path of the JSON, and it shows the counters of every
# scope, rule, error, version, target and download.
#
# Plain Test::More: nginx on 127.0.0.1, port TEST_NGINX_PORT + 123.
# Skipped, saying so, when the chromium binary is absent.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateStatus;
use JSON::PP;
use Test::More;

StagedUpdateStatus::skip_unless_nginx();

my ($chromium) = grep { -x } map { ("$_/chromium", "$_/chromium-browser") }
                             split /:/, $ENV{PATH};

plan skip_all => 'chromium (Debian package chromium) is not installed'
    unless $chromium;

my $t = StagedUpdateStatus->new(port_offset => 123);

$t->start;

# some of everything: decisions, errors, versions, a download

my (undef, undef, $m) = $t->get('/update/check?version=0.9.0&client=k1');
$t->get("/update/check?version=$_&client=k$_") for qw(2.0.0 1.6.0 1.2.0);
$t->get('/update/check?version=1.7.1&server=shard-1&client=k9');
$t->get('/update/check?version=1..2');
$t->get(decode_json($m)->{files}[0]{url});

my $url = 'http://127.0.0.1:' . $t->port . '/update/status';

my ($status, $h, $page) = $t->get('/update/status',
                                  headers => { Accept => 'text/html' });

is($status, 200, 'Accept: text/html: the page');
like($h->{'content-type'}, qr{^text/html}, 'as text/html');
unlike($page, qr{<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=}i,
       'no script, style or image loaded from elsewhere');
unlike($page, qr{https?://}i, 'no URL of another place');

my (undef, undef, $page2) = $t->get('/update/status?format=html');
is($page2, $page, '?format=html: the same page');

my $dom = `"$chromium" --headless --disable-gpu --no-sandbox --user-data-dir=${\ $t->root }/chromium --virtual-time-budget=5000 --dump-dom "$url?format=html" 2>/dev/null`;

like($dom, qr/data-loaded="1"/, 'Chromium ran the script: the page loaded '
                                . 'the JSON') or diag($dom);

my $json = $t->status_json;
my %shown;

$dom =~ s{<script\b.*?</script>}{}gs;      # the numbers drawn, not the code

while ($dom =~ /<span data-k="([^"]+)">([^<]*)<\/span>/g) {
    $shown{$1} = $2;
}

my (%got, %want);

for my $path (keys %shown) {
    my $v = $json;

    for my $k (split /\./, $path) {
        $v = ref $v eq 'ARRAY' ? $v->[$k] : $v->{$k};
    }

    $got{$path} = $shown{$path};
    $want{$path} = $v // 'absent';
}

my @differ = grep { $got{$_} ne $want{$_} } sort keys %got;

is("@differ", '', scalar(keys %got) . ' numbers on the page, each equal to '
                  . 'the JSON')
    or diag(join "\n", map { "$_: page $got{$_}, JSON $want{$_}" } @differ);

# and it shows every counter of the JSON

my @missing;

walk($json->{tracks}[0], 'tracks.0', \@missing);

is("@missing", '', 'every counter of the JSON is on the page');

$t->stop;

done_testing();


sub walk {
    my ($v, $path, $missing) = @_;

    if (ref $v eq 'HASH') {
        for my $k (keys %$v) {
            next if $k eq 'tables' || $k =~ /_limit$/ || $k eq 'percent';
            walk($v->{$k}, "$path.$k", $missing);
        }

    } elsif (ref $v eq 'ARRAY') {
        walk($v->[$_], "$path.$_", $missing) for 0 .. $#$v;

    } elsif (defined $v && !ref $v && $v =~ /^\d+$/) {
        push @$missing, $path unless exists $shown{$path};
    }
}
