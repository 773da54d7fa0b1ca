#!/usr/bin/perl
# Sisimai's verdicts in mailfleet's terms, for bench/bounces.py and scripts/disagreements.py (Debian's
# libsisimai-perl; Sisimai is BSD-licensed, this driver is ours).
#
#   sisimai-verdicts.pl batch     paths on stdin; one JSON line each on stdout:
#                                 {"file": path, "results": [{"address", "hard", "reason", "status"}]}
#   sisimai-verdicts.pl steady N  paths on stdin, read into memory first; one pass to warm up, then N
#                                 timed passes; prints the best pass as {"messages", "seconds"}
#
# "hard" follows ../shared/corpus/README.md: the address itself is dead (userunknown, hostunknown,
# hasmoved, or notaccept with a 5xx status).
use strict;
use warnings;
use JSON::PP;
use Sisimai;
use Time::HiRes qw(time);

my %HARD = map { $_ => 1 } qw(userunknown hostunknown hasmoved);
my %NOT_A_FAILURE = map { $_ => 1 } qw(delivered feedback vacation);  # a report, but nobody failed
my $json = JSON::PP->new->canonical;

sub verdicts {
    my ($input) = @_;
    my $found = eval { Sisimai->make($input) } || [];
    my @out;
    for my $e (@$found) {
        my $reason = $e->reason // '';
        next if $NOT_A_FAILURE{$reason};
        my $status = $e->deliverystatus // '';
        my $hard = $HARD{$reason} || ($reason eq 'notaccept' && $status =~ /^5/) ? JSON::PP::true : JSON::PP::false;
        push @out, {address => lc($e->recipient->address // ''), hard => $hard, reason => $reason,
                    status => $status};
    }
    return \@out;
}

my $mode = shift // 'batch';
my @paths = map { chomp; $_ } grep { /\S/ } <STDIN>;
$| = 0;
if ($mode eq 'batch') {
    for my $path (@paths) {
        print $json->encode({file => $path, results => verdicts($path)}), "\n";
    }
} elsif ($mode eq 'steady') {
    my $passes = shift // 5;
    my @messages;
    for my $path (@paths) {
        open(my $fh, '<:raw', $path) or die "$path: $!";
        local $/;
        push @messages, scalar <$fh>;
        close $fh;
    }
    verdicts(\$_) for @messages;    # warm-up: every module loaded, every pattern compiled
    my $best;
    for (1 .. $passes) {
        my $start = time;
        verdicts(\$_) for @messages;
        my $took = time - $start;
        $best = $took if !defined $best || $took < $best;
    }
    print $json->encode({messages => scalar @messages, seconds => $best}), "\n";
} else {
    die "usage: sisimai-verdicts.pl batch | steady N  (paths on stdin)\n";
}
